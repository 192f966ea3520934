"""Fixtures for notification tests: real local servers to send to (see servers.py)."""

import pytest

from .paging import clock, pages, paging_service, providers, responder, trigger  # noqa: F401  (fixtures)
from .servers import SmtpSink, TwilioStub, WebhookReceiver


@pytest.fixture
def smtp_sink():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def twilio_stub():
    with TwilioStub() as stub:
        yield stub


@pytest.fixture
def webhook_receiver():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def private_webhooks(monkeypatch):
    """The local servers listen on loopback, which webhooks refuse unless allowed."""
    monkeypatch.setenv("TOCSIN_WEBHOOKS_TO_PRIVATE_ADDRESSES", "true")


@pytest.fixture
def root(make_user):
    return make_user("root", roles=["admin"])


@pytest.fixture
def admin(login, root):
    """A client signed in as an administrator."""
    return login(root)
