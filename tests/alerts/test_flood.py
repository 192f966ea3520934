"""Flood control: past the service's limit, new alerts join its newest open incident in bulk."""

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.alerts.events import Event
from tocsin.alerts.models import Alert, ServiceAlertSettings
from tocsin.alerts.processing import process
from tocsin.alerts.services_maintenance import create_window
from tocsin.alerts.store import store_events
from tocsin.core.audit import Actor
from tocsin.incidents.models import Incident, TimelineEntry

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def storm(service, count, at, prefix="host"):
    store_events([Event(action="trigger", dedup_key=f"{prefix}-{n}", summary=f"{prefix} {n} down", source="dc-1",
                        service_id=service.pk) for n in range(count)], at)
    while process(at):
        pass


@pytest.fixture
def limited(service):
    return ServiceAlertSettings.objects.create(service=service, flood_limit=5, flood_window_minutes=10)


def test_past_the_limit_new_alerts_join_the_newest_incident(db, service, limited):
    storm(service, 40, T0)
    assert Incident.objects.count() == 5
    newest = Incident.objects.order_by("-created_at", "-number").first()
    joined = Alert.objects.filter(handling=Alert.GROUPED)
    assert joined.count() == 35 and set(joined.values_list("incident", flat=True)) == {newest.pk}
    assert joined.first().reason.startswith("flood: 5 or more incidents within 10 min; joined #")
    assert newest.timeline.filter(kind=TimelineEntry.NOTE, message__contains="during a flood").exists()
    assert not Alert.objects.filter(dirty=True).exists()


def test_the_flood_ends_with_its_window(db, service, limited):
    storm(service, 10, T0)
    storm(service, 1, T0 + timedelta(minutes=11), prefix="later")
    assert Alert.objects.get(dedup_key="later-0").handling == Alert.PAGED


def test_a_flood_during_maintenance_is_recorded_as_suppressed(db, service, limited):
    storm(service, 6, T0)
    create_window(actor=Actor.system("test"), name="Rack move", services=[service], starts_at=T0,
                  ends_at=T0 + timedelta(hours=2))
    storm(service, 20, T0 + timedelta(minutes=1), prefix="moved")
    moved = Alert.objects.filter(dedup_key__startswith="moved")
    assert set(moved.values_list("handling", flat=True)) == {Alert.SUPPRESSED}
    assert Incident.objects.count() == 5


def test_without_a_limit_every_alert_opens_its_own_incident(db, service, limited):
    limited.flood_limit = None
    limited.save()
    storm(service, 12, T0)
    assert Incident.objects.count() == 12
