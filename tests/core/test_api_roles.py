"""A2: each API endpoint against each role, over real bearer tokens."""

import pytest

from tocsin.core.models import AuditEntry
from tocsin.core.permissions import ROLES

# endpoint -> roles that may use it
ALLOWED = {
    ("get", "/api/v1/me"): set(ROLES),
    ("get", "/api/v1/permissions"): set(ROLES),
    ("get", "/api/v1/teams"): set(ROLES),
    ("get", "/api/v1/tokens"): set(ROLES),
    ("get", "/api/v1/users"): {"admin"},
    ("post", "/api/v1/teams"): {"admin"},
    ("get", "/api/v1/audit"): {"admin", "auditor", "security_officer"},
    ("get", "/api/v1/audit/verify"): {"admin", "auditor", "security_officer"},
    ("get", "/api/v1/audit/export?format=csv"): {"admin", "auditor"},
    ("get", "/api/v1/audit/export?format=json"): {"admin", "auditor"},
}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_endpoints_by_role(make_user, bearer, role):
    client = bearer(make_user(f"u-{role}", roles=[role]))
    for (method, path), allowed in ALLOWED.items():
        kwargs = {"data": {"name": f"Team {role}"}, "content_type": "application/json"} if method == "post" else {}
        response = getattr(client, method)(path, **kwargs)
        if role in allowed:
            assert response.status_code in (200, 201), (role, path, response.status_code)
        else:
            assert response.status_code == 403, (role, path, response.status_code)
            assert response.json()["permission"]


def test_denials_are_audited(make_user, bearer):
    client = bearer(make_user("nosy", roles=["viewer"]))
    assert client.get("/api/v1/audit").status_code == 403
    entry = AuditEntry.objects.filter(action="permission.denied").latest("seq")
    assert entry.actor_type == "token" and entry.actor_label.startswith("nosy/")
    assert entry.summary["permission"] == "audit:read"


def test_audit_export_is_itself_audited_and_complete(make_user, bearer):
    client = bearer(make_user("aud", roles=["auditor"]))
    response = client.get("/api/v1/audit/export?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert lines[0].startswith("seq,at,actor_type")
    assert len(lines) - 1 == AuditEntry.objects.count()
    assert AuditEntry.objects.filter(action="audit.exported").exists()
    data = client.get("/api/v1/audit/export?format=json")
    import json

    rows = json.loads(b"".join(data.streaming_content))
    assert rows[0]["seq"] == 1 and isinstance(rows[0]["summary"], dict)
    assert client.get("/api/v1/audit/export?format=xml").status_code == 400


def test_admin_manages_users_roles_and_teams(make_user, bearer):
    client = bearer(make_user("boss", roles=["admin"]))
    team = client.post("/api/v1/teams", {"name": "Network"}, content_type="application/json").json()
    user = client.post(
        "/api/v1/users", {"username": "newbie", "email": "n@example.org", "roles": ["viewer"]},
        content_type="application/json",
    ).json()
    role = client.post(
        f"/api/v1/users/{user['id']}/roles", {"role": "responder", "team": team["slug"]}, content_type="application/json"
    )
    assert role.status_code == 201
    assert client.post(f"/api/v1/teams/{team['slug']}/members", {"user_id": user["id"]}, content_type="application/json").status_code == 204
    detail = client.get(f"/api/v1/users/{user['id']}").json()
    assert {r["role"] for r in detail["roles"]} == {"viewer", "responder"} and detail["teams"] == ["network"]
    again = client.post(f"/api/v1/users/{user['id']}/roles", {"role": "responder", "team": "network"}, content_type="application/json")
    assert again.status_code == 400
    assert client.delete(f"/api/v1/users/{user['id']}/roles/{role.json()['id']}").status_code == 204
    assert client.patch(f"/api/v1/users/{user['id']}", {"is_active": False}, content_type="application/json").json()["is_active"] is False
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"team.created", "user.created", "role.assigned", "role.revoked", "team.member_added", "user.deactivated"} <= actions


def test_user_list_query_count_does_not_grow(make_user, bearer, django_assert_max_num_queries):
    client = bearer(make_user("boss", roles=["admin"]))
    for index in range(30):
        make_user(f"p{index}", roles=["viewer", "responder"])
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/users?limit=100")
    assert response.json()["count"] == 31


def test_me_query_count_is_flat(make_user, make_team, bearer, django_assert_max_num_queries):
    for name in ("Network", "Platform", "Desk"):
        make_team(name)
    user = make_user("many", roles=["viewer", ("responder", "network"), ("contact_steward", "platform")], teams=["network", "platform", "desk"])
    client = bearer(user)
    client.get("/api/v1/me")  # the first call also records the token's last use
    with django_assert_max_num_queries(4):
        body = client.get("/api/v1/me").json()
    assert body["teams"] == ["desk", "network", "platform"]
    assert {(r["role"], r["team"]) for r in body["roles"]} == {("viewer", None), ("responder", "network"), ("contact_steward", "platform")}
