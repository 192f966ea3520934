"""Fixtures for escalation: people, a service with a policy, and an engine driven by a clock."""

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from tocsin.catalog import services as catalog
from tocsin.core import audit
from tocsin.engine.models import Job
from tocsin.engine.worker import Engine
from tocsin.escalation import services
from tocsin.escalation.models import NotificationRequest
from tocsin.incidents import services as incidents

SYSTEM = audit.Actor.system("test")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def service(make_team):
    team = make_team("Platform")
    return catalog.create_service(actor=SYSTEM, source="cli", name="Payments", kind="technical", owner_team=team,
                                  tier=2)


def tier(*people, delay=10, **fields):
    return {"delay_minutes": delay, "targets": [{"type": "person", "id": p.pk} for p in people], **fields}


@pytest.fixture
def policy(service):
    names = itertools.count(1)

    def make(*tiers, link=True, ack_timeout_minutes=None, **fields):
        created = services.create_policy(f"Policy {next(names)}", {"tiers": list(tiers), **fields}, actor=SYSTEM)
        if link:
            services.link_service(service, created, actor=SYSTEM, ack_timeout_minutes=ack_timeout_minutes)
        return created

    return make


class Clock:
    """Runs the engine at chosen instants, in order, as a worker would (never before due)."""

    def __init__(self):
        self.now = T0
        self.engine = Engine(name="test-engine", clock=lambda: self.now)

    def at(self, when):
        self.now = when
        return self.engine.run_due(when)

    def advance(self, **delta):
        return self.at(self.now + timedelta(**delta))

    def run_until(self, until):
        """Run every step due up to `until`, each exactly at its due time."""
        while True:
            due = (Job.objects.filter(state=Job.PENDING, due_at__lte=until, kind__startswith="escalation")
                   .order_by("due_at").values_list("due_at", flat=True).first())
            if due is None:
                break
            self.at(max(due, self.now))
        self.now = until


@pytest.fixture
def clock(db):
    return Clock()


@pytest.fixture
def trigger(service):
    def make(at=T0, **fields):
        return incidents.trigger_incident(service, fields.pop("title", "Card payments failing"), actor=SYSTEM,
                                          at=at, **fields)

    return make


def paged(incident, **filters):
    """[(person name, reason, tier, cycle, follow_up)] in the order they were written."""
    rows = NotificationRequest.objects.filter(incident=incident, **filters).order_by("created_at", "pk")
    return [(r.person.name, r.reason, r.tier, r.cycle, r.follow_up) for r in rows.select_related("person")]
