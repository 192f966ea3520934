"""Dependency correlation (E2): an alert whose upstream service has an open incident joins it."""

from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tocsin.alerts import processing, store
from tocsin.alerts.events import Event
from tocsin.alerts.models import Alert, ServiceAlertSettings
from tocsin.alerts.stages import correlation
from tocsin.alerts.stages.correlation import attach_symptom
from tocsin.catalog.services.dependencies import add_dependency
from tocsin.core.audit import Actor
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.services import resolve

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
SYSTEM = Actor.system("test")
pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(make_service):
    """frontend → web → api → database → network (each needs the next)."""
    names = ["Frontend", "Web", "API", "Database", "Network"]
    services = {name: make_service(name, team=f"{name} team") for name in names}
    for needs, needed in zip(names, names[1:]):
        add_dependency(services[needs], services[needed], actor=SYSTEM)
    return services


def fire(service, dedup_key):
    return Event(action="trigger", dedup_key=dedup_key, severity="critical", summary=f"{dedup_key} failing",
                 source="host-1", service_id=service.pk)


def run(events, at):
    store.store_events(events, at)
    while processing.process(at):
        pass


def symptom_notes(incident):
    return TimelineEntry.objects.filter(incident=incident, kind=TimelineEntry.NOTE,
                                        key__startswith="alerts.symptom:").order_by("pk")


def alert(dedup_key):
    return Alert.objects.select_related("incident", "service").get(dedup_key=dedup_key)


def test_an_alert_below_an_open_incident_is_correlated_and_pages_nobody(chain):
    run([fire(chain["Database"], "db-down")], T0)
    upstream = alert("db-down").incident
    run([fire(chain["API"], "api-errors")], T0 + timedelta(minutes=3))
    symptom = alert("api-errors")
    assert symptom.handling == Alert.CORRELATED and symptom.incident == upstream
    assert symptom.reason == f"caused by upstream incident #{upstream.number}"
    assert Incident.objects.count() == 1


def test_correlation_follows_dependencies_a_few_hops_but_not_further(chain):
    run([fire(chain["Network"], "net-down")], T0)
    upstream = alert("net-down").incident
    later = T0 + timedelta(minutes=1)
    run([fire(chain["Web"], "web-slow")], later)  # three hops: web → api → database → network
    assert alert("web-slow").incident == upstream and alert("web-slow").handling == Alert.CORRELATED
    run([fire(chain["Frontend"], "frontend-slow")], later)  # four hops: too far to presume the cause
    assert alert("frontend-slow").handling == Alert.PAGED and alert("frontend-slow").incident != upstream


def test_an_upstream_alert_is_not_a_symptom_of_a_downstream_incident(chain):
    run([fire(chain["API"], "api-errors")], T0)
    run([fire(chain["Database"], "db-down")], T0 + timedelta(minutes=1))
    assert alert("db-down").handling == Alert.PAGED and Incident.objects.count() == 2


def test_the_nearest_upstream_incident_is_the_cause(chain):
    run([fire(chain["Network"], "net-down")], T0)
    # A later incident on the database, opened by hand: nearer to the API than the network's.
    database_incident = Incident.objects.create(number=999, service=chain["Database"], title="Database failover",
                                                created_at=T0 + timedelta(minutes=2))
    run([fire(chain["API"], "api-errors")], T0 + timedelta(minutes=3))
    assert alert("api-errors").incident == database_incident


def test_not_when_the_service_does_not_suppress_dependents(chain):
    ServiceAlertSettings.objects.create(service=chain["API"], suppress_dependents=False)
    run([fire(chain["Database"], "db-down")], T0)
    run([fire(chain["API"], "api-errors")], T0 + timedelta(minutes=1))
    assert alert("api-errors").handling == Alert.PAGED and Incident.objects.count() == 2


def test_not_once_the_upstream_incident_is_resolved(chain):
    run([fire(chain["Database"], "db-down")], T0)
    resolve(alert("db-down").incident, actor=SYSTEM, at=T0 + timedelta(minutes=1))
    run([fire(chain["API"], "api-errors")], T0 + timedelta(minutes=2))
    assert alert("api-errors").handling == Alert.PAGED


def test_cause_and_symptom_arriving_together_still_correlate(chain):
    run([fire(chain["Database"], "db-down"), fire(chain["API"], "api-errors")], T0)
    assert alert("api-errors").handling == Alert.CORRELATED
    assert alert("api-errors").incident == alert("db-down").incident and Incident.objects.count() == 1


def test_attaching_a_symptom_relates_its_service_and_notes_it_once_per_service(chain):
    run([fire(chain["Database"], "db-down")], T0)
    upstream = alert("db-down").incident
    run([fire(chain["API"], "api-errors"), fire(chain["API"], "api-latency"), fire(chain["Web"], "web-5xx")],
        T0 + timedelta(minutes=1))
    for key in ("api-errors", "api-latency", "web-5xx", "api-errors"):  # the last: a retried job
        attach_symptom(upstream, alert(key), T0 + timedelta(minutes=1))
    assert set(upstream.related_services.all()) == {chain["API"], chain["Web"]}
    notes = list(symptom_notes(upstream))
    assert [n.message for n in notes] == [
        "Symptom on API: api-errors failing (alert api-errors); not paged, caused by this incident.",
        "Symptom on Web: web-5xx failing (alert web-5xx); not paged, caused by this incident.",
    ]
    assert notes[0].actor_type == "system" and notes[0].data["alert"] == alert("api-errors").pk


def test_an_alert_on_the_incidents_own_service_is_not_its_own_symptom(chain):
    run([fire(chain["Database"], "db-down")], T0)
    incident = alert("db-down").incident
    attach_symptom(incident, alert("db-down"), T0)
    assert not incident.related_services.exists()
    assert not symptom_notes(incident).exists()


def test_finding_the_cause_costs_one_query_per_hop_and_one_for_incidents(chain):
    run([fire(chain["Network"], "net-down")], T0)
    store.store_events([fire(chain["Web"], "web-slow")], T0)
    probe = alert("web-slow")
    with CaptureQueriesContext(connection) as queries:
        decision = correlation.decide(probe, ServiceAlertSettings(service=chain["Web"]), T0)
    assert decision.incident == alert("net-down").incident
    assert len(queries) == correlation.MAX_HOPS + 1
