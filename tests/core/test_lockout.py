"""A1: brute force locks the (username, IP) pair with growing backoff, never the account everywhere."""

from django.test import Client

from tocsin.core import lockout
from tocsin.core.models import AuditEntry

PASSWORD = "correct-horse-battery-9"


def _attempt(ip, password):
    return Client(REMOTE_ADDR=ip).post("/login/", {"username": "oncall", "password": password})


def test_lockout_per_username_and_ip(make_user, settings):
    make_user("oncall", roles=["responder"], password=PASSWORD)
    attacker, responder = "203.0.113.9", "198.51.100.4"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = _attempt(attacker, "wrong-password")
    assert response.status_code == 429
    # Even the right password is refused from the attacker's address now...
    assert _attempt(attacker, PASSWORD).status_code == 429
    # ...while the responder, elsewhere, still signs in.
    assert _attempt(responder, PASSWORD).status_code == 302
    assert AuditEntry.objects.filter(action="auth.login_failed", actor_label="oncall").count() >= settings.AXES_FAILURE_LIMIT
    assert AuditEntry.objects.filter(action="auth.locked_out").exists()


def test_wrong_password_before_the_limit_shows_an_error(make_user):
    make_user("oncall", roles=["responder"], password=PASSWORD)
    response = _attempt("192.0.2.1", "nope-nope-nope")
    assert response.status_code == 200
    assert b"do not match" in response.content


def test_backoff_grows_with_further_failures(settings):
    settings.AXES_FAILURE_LIMIT = 5

    class Request:
        axes_failures_since_start = 5

    first = lockout.cooloff(Request())
    Request.axes_failures_since_start = 7
    assert lockout.cooloff(Request()) == first * 4
    Request.axes_failures_since_start = 500
    assert lockout.cooloff(Request()) == lockout.MAX_COOLOFF
