"""Heartbeats (E1, ER2): pings through the fast path, misses found by the engine at their due time."""

from datetime import datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from tocsin.alerts import heartbeats, services
from tocsin.alerts.models import Alert, Heartbeat
from tocsin.core import audit
from tocsin.engine.models import Job
from tocsin.engine.registry import lookup
from tocsin.engine.runner import Context
from tocsin.engine.worker import Engine
from tocsin.incidents.models import Incident


class Clock:
    """Runs the engine at chosen instants, as a worker would (never before a job is due)."""

    def __init__(self):
        self.engine = Engine(name="test-engine", clock=timezone.now)

    def at(self, when):
        self.engine.clock = lambda: when
        return self.engine.run_due(when)


@pytest.fixture
def clock(transactional_db):
    return Clock()


@pytest.fixture
def heartbeat(integration, ingest):
    made, key = integration("heartbeat", name="Nightly backup", interval_seconds=600, grace_seconds=120)
    return made, key


def pending_checks(made):
    return list(Job.objects.filter(kind=heartbeats.MISSED_JOB, key=heartbeats.job_key(made.pk), state=Job.PENDING)
                .values_list("due_at", flat=True))


def test_a_new_heartbeat_is_expected_within_interval_and_grace_of_its_creation(heartbeat):
    made, _ = heartbeat
    row = Heartbeat.objects.get(integration=made)
    assert (row.interval_seconds, row.grace_seconds) == (600, 120)
    assert row.expected_by == made.created_at + timedelta(seconds=720)
    assert pending_checks(made) == [row.expected_by]


def test_a_ping_moves_the_deadline_and_the_pending_check(heartbeat, ingest):
    made, key = heartbeat
    before = timezone.now()
    response = ingest.get(f"/integrations/{key}/heartbeat")
    assert response.status_code == 200
    row = Heartbeat.objects.get(integration=made)
    assert before <= row.last_ping_at <= timezone.now()
    assert row.expected_by == row.last_ping_at + timedelta(seconds=720)
    assert response.json() == {"status": "ok", "next_expected_by": row.expected_by.isoformat()}
    assert datetime.fromisoformat(response.json()["next_expected_by"]) == row.expected_by
    assert ingest.post(f"/integrations/{key}/heartbeat").status_code == 200
    row.refresh_from_db()
    assert pending_checks(made) == [row.expected_by]
    # One row per heartbeat, however often it pings: moved, not cancelled and added again.
    assert Job.objects.filter(key=heartbeats.job_key(made.pk)).count() == 1


def test_an_unknown_key_is_not_found(ingest, heartbeat):
    assert ingest.get("/integrations/" + "0" * 32 + "/heartbeat").status_code == 404


def test_a_miss_opens_a_critical_alert_and_the_next_ping_resolves_it(heartbeat, ingest, clock, processed):
    made, key = heartbeat
    ingest.get(f"/integrations/{key}/heartbeat")
    row = Heartbeat.objects.get(integration=made)
    clock.at(row.expected_by - timedelta(seconds=1))
    assert not Alert.objects.exists()

    clock.at(row.expected_by)
    alert = Alert.objects.get()
    assert (alert.status, alert.severity, alert.dedup_key, alert.source, alert.integration) == (
        Alert.TRIGGERED, "critical", f"heartbeat:{made.pk}", "heartbeat", made)
    assert alert.summary == f"Heartbeat Nightly backup missed: no ping since {row.last_ping_at:%Y-%m-%d %H:%M:%S} UTC"
    assert Heartbeat.objects.get(integration=made).missing
    processed(row.expected_by)
    incident = Incident.objects.get()
    assert (incident.status, incident.urgency, incident.service) == (Incident.TRIGGERED, "high", made.service)

    assert ingest.post(f"/integrations/{key}/heartbeat").status_code == 200
    alert.refresh_from_db()
    assert alert.status == Alert.RESOLVED
    assert not Heartbeat.objects.get(integration=made).missing
    processed()
    incident.refresh_from_db()
    assert incident.status == Incident.RESOLVED


def test_the_check_does_nothing_when_a_ping_came_in_time(heartbeat, clock):
    made, _ = heartbeat
    first_deadline = Heartbeat.objects.get(integration=made).expected_by
    heartbeats.ping(made.pk, now=made.created_at + timedelta(seconds=600))
    clock.at(first_deadline + timedelta(seconds=1))
    assert not Alert.objects.exists()
    with transaction.atomic():  # even a stale check that escaped its cancellation
        assert heartbeats.missed(made.pk, first_deadline + timedelta(seconds=1)) is False
    assert not Alert.objects.exists()
    clock.at(made.created_at + timedelta(seconds=600 + 720))
    assert Alert.objects.count() == 1


def test_a_heartbeat_never_pinged_is_missed_one_interval_after_creation(heartbeat, clock, processed):
    made, _ = heartbeat
    clock.at(made.created_at + timedelta(seconds=720))
    alert = Alert.objects.get()
    assert alert.summary == "Heartbeat Nightly backup missed: no ping since it was set up"


def test_the_handler_run_twice_opens_one_alert(heartbeat, clock):
    made, _ = heartbeat
    due = Heartbeat.objects.get(integration=made).expected_by
    handler = lookup(heartbeats.MISSED_JOB)
    for attempt in range(2):
        with transaction.atomic():
            handler.run({"integration": made.pk}, Context(1, heartbeats.MISSED_JOB, "k", due, attempt, due))
    alert = Alert.objects.get()
    assert alert.occurrences == 1
    clock.at(due + timedelta(minutes=5))  # and the engine's own check after them
    assert Alert.objects.get().occurrences == 1


def test_a_new_miss_after_recovery_opens_a_new_alert(heartbeat, ingest, clock):
    made, key = heartbeat
    clock.at(made.created_at + timedelta(seconds=720))
    ingest.get(f"/integrations/{key}/heartbeat")
    clock.at(Heartbeat.objects.get(integration=made).expected_by)
    assert list(Alert.objects.order_by("id").values_list("status", flat=True)) == [Alert.RESOLVED, Alert.TRIGGERED]


def test_a_disabled_heartbeat_alerts_nobody(heartbeat, clock):
    made, _ = heartbeat
    services.update_integration(made, actor=audit.Actor.system("test"), enabled=False)
    clock.at(made.created_at + timedelta(seconds=720))
    assert not Alert.objects.exists()


def test_changing_the_interval_moves_the_pending_check(heartbeat, ingest):
    made, key = heartbeat
    ingest.get(f"/integrations/{key}/heartbeat")
    services.update_integration(made, actor=audit.Actor.system("test"),
                                options={"interval_seconds": 3600, "grace_seconds": 120})
    row = Heartbeat.objects.get(integration=made)
    assert row.expected_by == row.last_ping_at + timedelta(seconds=3720)
    assert pending_checks(made) == [row.expected_by]
