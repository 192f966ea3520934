"""The HTML side: administration pages follow the matrix, and forms call the services."""

import pytest
from django.test import Client

from tocsin.core.models import ApiToken, AuditEntry, User

PASSWORD = "correct-horse-battery-9"


def _signed_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "path, allowed",
    [
        ("/admin/users/", {"admin"}),
        ("/admin/teams/", {"admin"}),
        ("/admin/mfa-policy/", {"admin"}),
        ("/audit/", {"admin", "auditor", "security_officer"}),
        ("/audit/export.csv", {"admin", "auditor"}),
        ("/account/", None),
        ("/", None),
    ],
)
@pytest.mark.parametrize("role", ["admin", "responder", "auditor", "security_officer", "viewer"])
def test_pages_by_role(make_user, path, allowed, role):
    client = _signed_in(make_user(f"u-{role}", roles=[role]))
    response = client.get(path)
    if allowed is None or role in allowed:
        assert response.status_code == 200, (path, role)
    else:
        assert response.status_code == 403, (path, role)
        assert b"Not allowed" in response.content


def test_anonymous_is_sent_to_login(db):
    response = Client().get("/admin/users/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_admin_creates_user_through_the_form(make_user):
    client = _signed_in(make_user("boss", roles=["admin"]))
    response = client.post(
        "/admin/users/new/",
        {"username": "dora", "email": "dora@example.org", "password": "a-long-password-42", "roles": ["contact_steward"]},
    )
    assert response.status_code == 302
    dora = User.objects.get(username="dora")
    assert dora.role_assignments.get().role == "contact_steward"
    bad = client.post("/admin/users/new/", {"username": "dora"})
    assert bad.status_code == 400 and b"taken" in bad.content


def test_user_page_actions(make_user, make_team):
    team = make_team("Network")
    boss = make_user("boss", roles=["admin"])
    ana = make_user("ana", roles=["viewer"])
    client = _signed_in(boss)
    client.post(f"/admin/users/{ana.pk}/assign-role/", {"role": "responder", "team": team.slug})
    client.post(f"/admin/users/{ana.pk}/add-team/", {"team": team.slug})
    client.post(f"/admin/users/{ana.pk}/deactivate/")
    ana.refresh_from_db()
    assert not ana.is_active
    assert ana.role_assignments.filter(role="responder", team=team).exists()
    page = client.get(f"/admin/users/{ana.pk}/")
    assert b"deactivated" in page.content and b"Network" in page.content
    own = client.post(f"/admin/users/{boss.pk}/deactivate/", follow=True)
    assert b"cannot deactivate yourself" in own.content


def test_token_created_in_the_ui_is_shown_once(make_user):
    client = _signed_in(make_user("ana", roles=["responder"]))
    response = client.post("/account/tokens/", {"name": "laptop", "expires_days": 30})
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret.encode() in response.content
    token = ApiToken.objects.get(name="laptop")
    page = client.get("/account/")
    assert secret.encode() not in page.content and token.prefix.encode() in page.content
    client.post(f"/account/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_audit_page_verifies_the_chain(make_user):
    client = _signed_in(make_user("aud", roles=["auditor"]))
    response = client.get("/audit/?verify=1")
    assert b"Chain intact" in response.content


def test_users_page_query_count_is_flat(make_user, django_assert_max_num_queries):
    client = _signed_in(make_user("boss", roles=["admin"]))
    client.get("/admin/users/")
    for index in range(40):
        make_user(f"p{index}", roles=["viewer"])
    with django_assert_max_num_queries(14):
        response = client.get("/admin/users/")
    assert response.status_code == 200 and b"p39" in response.content


def test_forms_need_csrf(make_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("boss", roles=["admin"]))
    assert client.post("/admin/teams/", {"name": "X"}).status_code == 403
    assert not AuditEntry.objects.filter(action="team.created").exists()


def test_hostile_form_input_gets_a_message_not_a_500(make_user):
    boss = make_user("boss", roles=["admin"])
    ana = make_user("ana", roles=["viewer"])
    client = _signed_in(boss)
    for action, data in [
        ("revoke-role", {"assignment": "abc"}),
        ("revoke-role", {"assignment": "9" * 40}),
        ("remove-team", {"team": "bad\x00slug"}),
        ("assign-role", {"role": "overlord"}),
    ]:
        response = client.post(f"/admin/users/{ana.pk}/{action}/", data, follow=True)
        assert response.status_code == 200, action
        assert response.context["messages"], action
    assert client.get("/audit/", {"action": "x\x00y"}).status_code == 200
    assert client.post(f"/admin/users/{ana.pk}/explode/").status_code == 404


def test_audit_pages_keep_the_filter(make_user):
    from tocsin.core import audit

    for index in range(60):
        audit.record(audit.Actor.system("t"), "test.paging", summary={"i": index})
    client = _signed_in(make_user("aud", roles=["auditor"]))
    response = client.get("/audit/", {"action": "test.paging"})
    assert b"?action=test.paging&amp;page=2" in response.content
