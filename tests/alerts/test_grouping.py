"""Grouping (E2): later alerts join a recent open incident of their service; the first pages at once."""

from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tocsin.alerts import processing, store
from tocsin.alerts.events import Event
from tocsin.alerts.models import Alert, ServiceAlertSettings
from tocsin.alerts.stages import grouping
from tocsin.core.audit import Actor
from tocsin.incidents.models import Incident
from tocsin.incidents.services import resolve

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
pytestmark = pytest.mark.django_db


def fire(service, dedup_key, at, *, group_key="", labels=None, source="host-1", summary=None):
    event = Event(action="trigger", dedup_key=dedup_key, severity="critical", summary=summary or dedup_key,
                  source=source, labels=labels or {}, group_key=group_key, service_id=service.pk)
    return event


def run(service_events, at):
    """Store the events together and process them as the engine would, at `at`."""
    store.store_events(service_events, at)
    while processing.process(at):
        pass


def alert(dedup_key):
    return Alert.objects.get(dedup_key=dedup_key, status__in=Alert.OPEN)


def configure(service, grouping_mode, labels=(), window=10):
    return ServiceAlertSettings.objects.create(service=service, grouping=grouping_mode, group_labels=list(labels),
                                               group_window_minutes=window)


def test_without_grouping_every_alert_opens_its_own_incident(service):
    run([fire(service, "a", T0, group_key="g")], T0)
    run([fire(service, "b", T0, group_key="g")], T0 + timedelta(minutes=1))
    assert Incident.objects.count() == 2
    assert {alert("a").handling, alert("b").handling} == {Alert.PAGED}


def test_by_key_the_first_alert_pages_at_once_and_later_ones_join_within_the_window(service):
    configure(service, "key")
    run([fire(service, "a", T0, group_key="rack-7")], T0)
    first = alert("a")
    assert first.handling == Alert.PAGED and first.incident is not None
    run([fire(service, "b", T0, group_key="rack-7")], T0 + timedelta(minutes=9))
    second = alert("b")
    assert second.handling == Alert.GROUPED and second.incident_id == first.incident_id
    assert second.reason == f"grouped into incident {first.incident.reference} (the same group key)"
    run([fire(service, "c", T0, group_key="rack-8")], T0 + timedelta(minutes=9))
    assert alert("c").handling == Alert.PAGED and alert("c").incident_id != first.incident_id
    assert Incident.objects.count() == 2


def test_by_key_the_window_counts_from_the_incidents_creation(service):
    configure(service, "key", window=10)
    run([fire(service, "a", T0, group_key="rack-7")], T0)
    run([fire(service, "b", T0, group_key="rack-7")], T0 + timedelta(minutes=10, seconds=1))
    assert alert("b").handling == Alert.PAGED and Incident.objects.count() == 2


def test_by_key_a_resolved_incident_takes_no_more_alerts(service):
    configure(service, "key")
    run([fire(service, "a", T0, group_key="rack-7")], T0)
    resolve(alert("a").incident, actor=Actor.system("test"), at=T0 + timedelta(minutes=1))
    run([fire(service, "b", T0, group_key="rack-7")], T0 + timedelta(minutes=2))
    assert alert("b").handling == Alert.PAGED and Incident.objects.count() == 2


def test_by_key_with_chosen_labels_compares_their_values(service):
    configure(service, "key", labels=["alertname", "cluster"])
    run([fire(service, "a", T0, labels={"alertname": "DiskFull", "cluster": "eu", "instance": "db-1"})], T0)
    later = T0 + timedelta(minutes=1)
    run([fire(service, "b", later, labels={"alertname": "DiskFull", "cluster": "eu", "instance": "db-2"}),
         fire(service, "c", later, labels={"alertname": "DiskFull", "cluster": "us", "instance": "db-1"}),
         fire(service, "d", later, labels={"instance": "db-1"})], later)
    assert alert("b").handling == Alert.GROUPED and alert("b").incident_id == alert("a").incident_id
    assert alert("c").handling == Alert.PAGED  # another cluster
    assert alert("d").handling == Alert.PAGED  # none of the chosen labels: groups with nothing


def test_by_key_a_burst_stored_together_opens_one_incident(service):
    """Alertmanager posts a whole group in one request: it lands in one processing batch."""
    configure(service, "key")
    run([fire(service, f"alert-{n}", T0, group_key='{}:{alertname="DiskFull"}') for n in range(6)]
        + [fire(service, "other", T0, group_key='{}:{alertname="CPU"}')], T0)
    assert Incident.objects.count() == 2
    handlings = dict(Alert.objects.values_list("dedup_key", "handling"))
    assert handlings.pop("alert-0") == Alert.PAGED and handlings.pop("other") == Alert.PAGED
    assert set(handlings.values()) == {Alert.GROUPED}
    assert Alert.objects.filter(dedup_key__startswith="alert-").values("incident").distinct().count() == 1


def test_by_key_still_finds_a_first_alert_that_has_resolved(service):
    configure(service, "key")
    run([fire(service, "a", T0, group_key="rack-7")], T0)
    run([fire(service, "b", T0, group_key="rack-7")], T0 + timedelta(minutes=1))
    store.store_events([Event(action="resolve", dedup_key="a", service_id=service.pk)], T0 + timedelta(minutes=2))
    run([fire(service, "c", T0, group_key="rack-7")], T0 + timedelta(minutes=3))
    incident = Alert.objects.get(dedup_key="a").incident
    assert incident.status == Incident.TRIGGERED  # "b" is still open
    assert alert("c").handling == Alert.GROUPED and alert("c").incident == incident


def test_grouping_never_crosses_services(service, make_service):
    other = make_service("Search", team="Search team")
    configure(service, "key")
    configure(other, "key")
    run([fire(service, "a", T0, group_key="g")], T0)
    run([fire(other, "b", T0, group_key="g")], T0 + timedelta(minutes=1))
    assert alert("b").handling == Alert.PAGED and alert("b").incident.service == other


def test_intelligent_joins_on_any_shared_default_label(service):
    configure(service, "intelligent")
    run([fire(service, "a", T0, labels={"alertname": "DiskFull", "instance": "db-1"}, source="prom-eu")], T0)
    later = T0 + timedelta(minutes=2)
    run([fire(service, "b", later, labels={"alertname": "HighLatency", "instance": "db-1"}, source="prom-us"),
         fire(service, "c", later, labels={"alertname": "CPU"}, source="prom-eu"),
         fire(service, "d", later, labels={"alertname": "Memory", "instance": "web-1"}, source="prom-asia")], later)
    incident = alert("a").incident_id
    assert alert("b").incident_id == incident and alert("b").handling == Alert.GROUPED  # instance
    assert alert("c").incident_id == incident  # source (a default label, from the alert's field)
    assert alert("d").handling == Alert.PAGED and alert("d").incident_id != incident  # nothing shared
    assert alert("b").reason.endswith("(a matching label)")


def test_intelligent_compares_every_alert_of_the_incident_not_only_the_first(service):
    configure(service, "intelligent", labels=["instance", "job"])
    run([fire(service, "a", T0, labels={"instance": "db-1", "job": "node"})], T0)
    run([fire(service, "b", T0, labels={"instance": "db-1", "job": "postgres"})], T0 + timedelta(minutes=1))
    run([fire(service, "c", T0, labels={"instance": "db-9", "job": "postgres"})], T0 + timedelta(minutes=2))
    run([fire(service, "e", T0, labels={"instance": "web-1", "job": "nginx"})], T0 + timedelta(minutes=3))
    assert alert("c").handling == Alert.GROUPED and alert("c").incident_id == alert("a").incident_id
    assert alert("e").handling == Alert.PAGED


def test_intelligent_on_the_service_label_joins_the_newest_incident(service):
    configure(service, "intelligent", labels=["service"])
    run([fire(service, "a", T0, labels={"instance": "db-1"})], T0)
    run([fire(service, "b", T0, labels={"instance": "web-9"})], T0 + timedelta(minutes=1))
    assert alert("b").incident_id == alert("a").incident_id


def test_intelligent_respects_the_window(service):
    configure(service, "intelligent", window=5)
    run([fire(service, "a", T0, labels={"instance": "db-1"})], T0)
    run([fire(service, "b", T0, labels={"instance": "db-1"})], T0 + timedelta(minutes=6))
    assert alert("b").handling == Alert.PAGED


def _new_alert(service, dedup_key, at, **fields):
    store.store_events([fire(service, dedup_key, at, **fields)], at)
    return Alert.objects.select_related("service").get(dedup_key=dedup_key)


@pytest.mark.parametrize("mode", ["key", "intelligent"])
def test_a_decision_costs_the_same_few_queries_however_many_incidents_and_alerts(service, mode):
    settings = configure(service, mode, labels=["instance"])
    settings.flood_limit = None  # (25 incidents in a minute would be a flood)
    settings.save()
    run([fire(service, "seed", T0, labels={"instance": "db-0"})], T0)
    probe = _new_alert(service, "probe-1", T0, labels={"instance": "db-0"})
    with CaptureQueriesContext(connection) as few:
        assert grouping.decide(probe, settings, T0 + timedelta(minutes=1)) is not None
    # Many more open incidents and alerts in the window, each a different instance.
    for n in range(1, 25):
        run([fire(service, f"seed-{n}-{k}", T0, labels={"instance": f"db-{n}"}) for k in range(4)], T0)
    assert Incident.objects.count() == 25 and Alert.objects.count() == 98
    probe_2 = _new_alert(service, "probe-2", T0, labels={"instance": "db-0"})
    with CaptureQueriesContext(connection) as many:
        assert grouping.decide(probe_2, settings, T0 + timedelta(minutes=1)) is not None
    assert len(many) == len(few) <= 2
