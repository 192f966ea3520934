"""Health, readiness, metrics, request ids, logs without personal data, and the ASGI router."""

import asyncio
import logging

import pytest
from django.test import Client

from tocsin.asgi import PathRouter
from tocsin.core import audit, logs


def test_healthz_and_readyz(db):
    client = Client()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_readyz_reports_failed_checks(db):
    from tocsin.core import ops_views

    ops_views.add_readiness_check(lambda: "engine lags by 45 s")
    try:
        response = Client().get("/readyz")
    finally:
        ops_views._readiness_checks.pop()
    assert response.status_code == 503 and "engine lags by 45 s" in response.json()["problems"]


def test_metrics_expose_requests_and_audit_head(db):
    entry = audit.record(audit.Actor.system("t"), "test.metric")
    client = Client()
    client.get("/healthz")
    body = client.get("/metrics").content.decode()
    assert 'tocsin_http_requests_total{method="GET",route="/healthz",status="200"}' in body
    assert f"tocsin_audit_chain_length {float(entry.seq)}" in body
    assert f'hash="{entry.hash}"' in body


def test_request_id_is_echoed_or_made(db):
    client = Client()
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"})["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})["X-Request-ID"]
    assert made != "bad id with spaces" and len(made) == 32


def test_security_headers(db):
    response = Client().get("/login/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"csrfmiddlewaretoken" in response.content


@pytest.mark.parametrize(
    "message, leaked",
    [
        ("login for ana@example.org failed", "ana@example.org"),
        ("sms to +49 170 1234567 sent", "1234567"),
        ("Authorization: Bearer tcs_abcdef123456_secretsecret", "secretsecret"),
        ("callback?token=abcdef&x=1", "abcdef"),
    ],
)
def test_log_redaction(message, leaked):
    record = logging.LogRecord("t", logging.INFO, __file__, 1, message, None, None)
    logs.RedactionFilter().filter(record)
    assert leaked not in record.getMessage()


def test_login_failure_logs_no_password(db, caplog, make_user):
    make_user("carol", password="correct-horse-battery-9", email="carol@example.org")
    with caplog.at_level(logging.DEBUG):
        Client().post("/login/", {"username": "carol", "password": "my-secret-guess-1"})
    assert "my-secret-guess-1" not in caplog.text and "carol@example.org" not in caplog.text


def test_path_router_sends_fast_paths_around_django():
    calls = []

    def app(name):
        async def asgi(scope, receive, send):
            calls.append(name)

        return asgi

    router = PathRouter(app("django"), {"/v2/enqueue": app("enqueue"), "/integrations/": app("integrations")})

    async def run(path):
        await router({"type": "http", "path": path}, None, None)

    for path in ("/v2/enqueue", "/integrations/abc/alertmanager", "/api/v1/me", "/v2/enqueuex"):
        asyncio.run(run(path))
    assert calls == ["enqueue", "integrations", "django", "django"]


def test_path_router_answers_lifespan():
    router = PathRouter(None)
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = []

    async def receive():
        return inbox.pop(0)

    async def send(message):
        sent.append(message["type"])

    asyncio.run(router({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_tracebacks_are_redacted_too():
    try:
        raise ValueError("'ana@example.org' is not accepted for +49 170 1234567")
    except ValueError:
        import sys

        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    logs.RedactionFilter().filter(record)
    assert "ana@example.org" not in record.exc_text and "1234567" not in record.exc_text
    assert "ValueError" in record.exc_text
