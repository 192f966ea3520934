"""A1: API tokens are hashed at rest, shown once, revocable, expiring, with a last-used time."""

from datetime import timedelta

import time_machine
from django.test import Client
from django.utils import timezone

from tocsin.core import audit, services
from tocsin.core.models import ApiToken, AuditEntry

ACTOR = audit.Actor.system("test")


def _client(secret):
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_token_is_stored_only_as_a_digest(make_user):
    user = make_user(roles=["viewer"])
    token, secret = services.issue_token(user, actor=ACTOR, name="ci")
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert secret not in str(row)
    assert secret.startswith(f"tcs_{token.prefix}_")
    assert AuditEntry.objects.filter(action="token.created", object_id=str(token.pk)).exists()


def test_token_authenticates_and_records_last_use(make_user):
    user = make_user(roles=["viewer"])
    token, secret = services.issue_token(user, actor=ACTOR, name="ci")
    response = _client(secret).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["username"] == user.username and response.json()["via"] == "token"
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_revoked_token_is_refused(make_user):
    user = make_user(roles=["viewer"])
    token, secret = services.issue_token(user, actor=ACTOR, name="ci")
    client = _client(secret)
    assert client.get("/api/v1/me").status_code == 200
    revoke = client.delete(f"/api/v1/tokens/{token.pk}")
    assert revoke.status_code == 204
    assert client.get("/api/v1/me").status_code == 401
    assert AuditEntry.objects.filter(action="token.revoked", object_id=str(token.pk)).exists()


def test_expired_token_is_refused(make_user):
    user = make_user(roles=["viewer"])
    _, secret = services.issue_token(user, actor=ACTOR, name="ci", expires_days=1)
    assert _client(secret).get("/api/v1/me").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        assert _client(secret).get("/api/v1/me").status_code == 401


def test_token_of_deactivated_user_is_refused(make_user):
    user = make_user(roles=["viewer"])
    _, secret = services.issue_token(user, actor=ACTOR, name="ci")
    services.set_active(user, False, actor=ACTOR)
    assert _client(secret).get("/api/v1/me").status_code == 401


def test_forged_and_malformed_tokens_are_refused(make_user):
    user = make_user(roles=["viewer"])
    token, secret = services.issue_token(user, actor=ACTOR, name="ci")
    for bad in (secret[:-2] + "xx", f"tcs_{token.prefix}_", "tcs_", "x" * 500, "Basic abc"):
        assert _client(bad).get("/api/v1/me").status_code == 401


def test_create_token_over_api_returns_secret_once(make_user, bearer):
    user = make_user(roles=["responder"])
    client = bearer(user)
    created = client.post("/api/v1/tokens", {"name": "laptop", "expires_days": 30}, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["token"].startswith("tcs_") and body["expires_at"]
    listed = client.get("/api/v1/tokens").json()
    assert all("token" not in item for item in listed)
    assert {item["name"] for item in listed} == {"test", "laptop"}
    assert _client(body["token"]).get("/api/v1/me").status_code == 200


def test_unknown_scope_is_rejected_by_name(make_user, bearer):
    response = bearer(make_user(roles=["viewer"])).post(
        "/api/v1/tokens", {"name": "x", "scopes": ["contacts:teleport"]}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "contacts:teleport" in response.json()["detail"]


def test_cannot_revoke_someone_elses_token(make_user, bearer):
    owner, other = make_user(roles=["viewer"]), make_user(roles=["viewer"])
    token, _ = services.issue_token(owner, actor=ACTOR, name="mine")
    response = bearer(other).delete(f"/api/v1/tokens/{token.pk}")
    assert response.status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_token_create_command_prints_token_as_last_word(make_user, capsys):
    from django.core.management import call_command

    make_user("robot", roles=["viewer"])
    call_command("token", "create", "--user", "robot", "--name", "deploy", "--expires", "7")
    secret = capsys.readouterr().out.split()[-1]
    assert _client(secret).get("/api/v1/me").json()["username"] == "robot"


def test_a_token_cannot_mint_a_stronger_token(make_user):
    steward = make_user(roles=["contact_steward", "admin"])
    _, narrow = services.issue_token(steward, actor=ACTOR, name="narrow", scopes=["tokens:own"])
    client = _client(narrow)
    response = client.post("/api/v1/tokens", {"name": "x", "scopes": ["contacts:write"]}, content_type="application/json")
    assert response.status_code == 400 and "does not carry 'contacts:write'" in str(response.json())
    assert client.post("/api/v1/tokens", {"name": "x"}, content_type="application/json").status_code == 400
    assert client.post("/api/v1/tokens", {"name": "x", "scopes": ["tokens:own"]}, content_type="application/json").status_code == 201


def test_scopes_the_user_lacks_or_interactive_ones_without_step_up_are_refused(make_user):
    viewer = make_user(roles=["viewer"])
    browser = Client()
    browser.force_login(viewer)
    response = browser.post("/api/v1/tokens", {"name": "x", "scopes": ["audit:read"]}, content_type="application/json")
    assert response.status_code == 400 and "do not hold 'audit:read'" in str(response.json())
    admin = make_user(roles=["admin"])
    browser.force_login(admin)
    response = browser.post("/api/v1/tokens", {"name": "x", "scopes": ["contacts:write"]}, content_type="application/json")
    assert response.status_code == 400 and "step-up" in str(response.json())
    ui = browser.post("/account/tokens/", {"name": "y", "scopes": ["contacts:write"]})
    assert ui.status_code == 302 and not ApiToken.objects.filter(name="y").exists()
