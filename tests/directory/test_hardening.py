"""Closing the gaps a security review found: team-scope escapes, secret webhook URLs, nulls,
step-up on every contact change in the browser, and no names in the audit chain."""

import pytest
from django.test import Client

from tocsin.core import services as core_services
from tocsin.core.models import AuditEntry
from tocsin.core.permissions import Principal
from tocsin.directory import services
from tocsin.directory.services.stewardship import export_access_review
from tocsin.directory.visibility import reveal

from .conftest import SYSTEM


def _token(user, scopes=("contacts:read", "contacts:write", "contacts:reveal")):
    _, secret = core_services.issue_token(user, actor=SYSTEM, name="t", scopes=list(scopes))
    return Client(headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def two_teams(make_team, make_person, make_user):
    alpha, bravo = make_team("Alpha"), make_team("Bravo")
    bea = make_person("Bea Bravo", teams=[bravo])
    services.add_method(actor=SYSTEM, person=bea, kind="sms", value="+49 30 5550001")
    role = services.create_role(actor=SYSTEM, name="Alpha on-call", team=alpha)
    steward = make_user("alpha-steward", roles=[("contact_steward", "alpha")])
    return alpha, bravo, bea, role, steward


def test_a_steward_cannot_pull_another_teams_person_into_their_role(two_teams, make_person):
    alpha, bravo, bea, role, steward = two_teams
    client = _token(steward)
    response = client.post(f"/api/v1/directory/roles/{role.slug}/holders", {"person_id": bea.pk}, content_type="application/json")
    assert response.status_code == 403
    own = make_person("Al Alpha", teams=[alpha])
    delegation = {"delegator_id": own.pk, "delegate_id": bea.pk, "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-02T00:00:00Z"}
    assert client.post("/api/v1/directory/delegations", delegation, content_type="application/json").status_code == 403


def test_shared_webhooks_need_standing_access(two_teams, make_user):
    alpha, bravo, bea, role, steward = two_teams
    hook = services.add_method(actor=SYSTEM, team=alpha, kind="webhook", value="https://hooks.example.org/T0/SECRET")
    line = services.add_method(actor=SYSTEM, team=alpha, kind="voice", value="+49 30 5550002")
    viewer = Principal.load(make_user("viewer", roles=["viewer"]))
    assert reveal(viewer, hook) is None
    assert reveal(viewer, line) == "+49305550002"
    assert reveal(Principal.load(steward), hook).endswith("SECRET")


def test_explicit_nulls_are_refused_by_name(two_teams, make_user):
    alpha, bravo, bea, role, steward = two_teams
    client = _token(make_user("boss", roles=["admin"]))
    for path, body in [
        (f"/api/v1/directory/people/{bea.pk}", {"teams": None}),
        (f"/api/v1/directory/people/{bea.pk}", {"organisation": None}),
        (f"/api/v1/directory/methods/{bea.methods.get().pk}", {"availability": None}),
    ]:
        response = client.patch(path, body, content_type="application/json")
        assert response.status_code == 422, (body, response.content)
        assert "cannot be null" in str(response.json())
    assert bea.teams.get() == bravo
    assert client.patch(f"/api/v1/directory/people/{bea.pk}", {"site": None}, content_type="application/json").status_code == 200


def test_browser_verify_and_delegate_need_a_fresh_step_up(two_teams, make_user, make_person):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    alpha, bravo, bea, role, steward = two_teams
    admin = make_user("boss", roles=["admin"])
    TOTPDevice.objects.create(user=admin, name="app", confirmed=True)
    client = Client()
    client.force_login(admin)
    method = bea.methods.get()
    page = f"/directory/people/{bea.pk}/"
    response = client.post(f"/directory/methods/{method.pk}/verify/", HTTP_REFERER=f"http://testserver{page}")
    assert response.status_code == 302 and response["Location"].startswith("/account/step-up/")
    method.refresh_from_db()
    assert not method.verified
    stand_in = make_person("Stand In", teams=[bravo])
    form = {"delegate": stand_in.pk, "starts_at": "2030-01-01T00:00", "ends_at": "2030-01-02T00:00", "reason": "leave"}
    response = client.post(f"/directory/people/{bea.pk}/delegate/", form)
    assert response.status_code == 302 and response["Location"].startswith("/account/step-up/")
    assert not bea.delegations_given.exists()


def test_no_names_in_grant_audit_and_no_empty_role_slugs(two_teams, make_user):
    alpha, bravo, bea, role, steward = two_teams
    services.request_grant(make_user("v", roles=["viewer"]), actor=SYSTEM, reason="Vendor escalation call",
                           duration_minutes=30, person=bea)
    entry = AuditEntry.objects.get(action="grant.requested")
    assert "Bea" not in str(entry.summary) and entry.summary["person"] == bea.pk
    response = _token(make_user("boss", roles=["admin"])).post("/api/v1/directory/roles", {"name": "!!!"}, content_type="application/json")
    assert response.status_code == 400 and "letter or digit" in response.json()["detail"]


def test_access_review_names_what_team_bound_roles_reach(two_teams, make_user):
    from tocsin.core import audit

    alpha, bravo, *_ = two_teams
    responder = make_user("resp", roles=["responder"], teams=["bravo"])
    rows = export_access_review(actor=audit.Actor.system("t"))
    row = next(r for r in rows if r[1] == responder.username)
    assert row[3] == "(member teams: bravo)"
