"""Fixtures for the delivery tests: a service whose policy pages real people, providers pointed at
the local servers, and an engine driven by a clock (the sending pool runs for real)."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from tocsin.catalog import services as catalog
from tocsin.core import audit
from tocsin.directory import services as directory
from tocsin.engine.models import Job
from tocsin.engine.worker import Engine
from tocsin.escalation import services as escalation
from tocsin.incidents import services as incidents
from tocsin.notify.models import Provider
from tocsin.notify.pool import pool

SYSTEM = audit.Actor.system("test")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


class Clock:
    """Runs the engine at chosen instants (never before due) and waits for the sends it starts."""

    def __init__(self):
        self.now = T0
        self.engine = Engine(name="test-engine", clock=lambda: self.now)

    def at(self, when):
        self.now = when
        ran = self.engine.run_due(when)
        assert pool.wait_idle(30), "sends were still under way after 30 s"
        return ran

    def settle(self, until=None):
        """Run every job due up to `until` (default: now), each at its due time."""
        until = until or self.now
        for _ in range(200):
            due = (Job.objects.filter(state=Job.PENDING, due_at__lte=until).exclude(kind="notify.health")
                   .order_by("due_at").values_list("due_at", flat=True).first())
            if due is None:
                break
            self.at(max(due, self.now))
        self.now = max(self.now, until)

    def advance(self, **delta):
        self.settle(self.now + timedelta(**delta))


@pytest.fixture
def clock(transactional_db):
    return Clock()


@pytest.fixture
def providers(transactional_db, smtp_sink, twilio_stub, settings):
    settings.TOCSIN_BASE_URL = "http://tocsin.test"
    return create_local_providers(smtp_sink, twilio_stub)


def create_local_providers(smtp_sink, twilio_stub):
    """An SMTP provider for the local sink and a Twilio provider for the local stub."""
    mail = Provider.objects.create(name="mail", kind=Provider.SMTP, channels=["email"], settings={
        "host": smtp_sink.host, "port": smtp_sink.port, "from_address": "tocsin@example.org", "security": "none"})
    twilio = Provider.objects.create(
        name="twilio", kind=Provider.TWILIO, channels=["sms", "voice"],
        settings={"base_url": twilio_stub.url, "from_number": "+15005550006"},
        secrets=json.dumps({"account_sid": twilio_stub.account_sid, "auth_token": twilio_stub.auth_token}))
    return {"mail": mail, "twilio": twilio}


def only_local_providers(monkeypatch, settings):
    """No provider from the environment, and links on the test client's host."""
    for name in ("TOCSIN_SMTP_URL", "TOCSIN_TWILIO_ACCOUNT_SID", "TOCSIN_TWILIO_AUTH_TOKEN", "TOCSIN_TWILIO_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings.BASE_URL = "http://testserver"


@pytest.fixture
def responder(transactional_db):
    def make(name, *, sms=None, email=None, voice=None, **fields):
        someone = directory.create_person(actor=SYSTEM, source="cli", name=name, **fields)
        for kind, value in (("sms", sms), ("email", email), ("voice", voice)):
            if value:
                directory.add_method(actor=SYSTEM, person=someone, kind=kind, value=value)
        return someone

    return make


@pytest.fixture
def paging_service(transactional_db):
    from tocsin.core import services as core

    team = core.create_team(actor=SYSTEM, name="Platform")
    return catalog.create_service(actor=SYSTEM, source="cli", name="Payments", kind="technical", owner_team=team,
                                  tier=2)


@pytest.fixture
def pages(paging_service):
    """pages(tier1_people, tier2_people…): the service's policy, one tier per list, 10 min each."""
    def make(*tiers, delay=10):
        spec = {"tiers": [{"delay_minutes": delay, "targets": [{"type": "person", "id": p.pk} for p in people]}
                          for people in tiers]}
        policy = escalation.create_policy("Payments on call", spec, actor=SYSTEM)
        escalation.link_service(paging_service, policy, actor=SYSTEM)
        return policy

    return make


@pytest.fixture
def trigger(paging_service):
    def make(title="Card payments failing", at=T0, **fields):
        return incidents.trigger_incident(paging_service, title, actor=SYSTEM, at=at, **fields)

    return make
