"""Dependency-aware correlation (E2): an alert on a service whose upstream dependency already has
an open incident is a symptom of it; it joins that incident without paging again.

Upstream means what the service depends on in the catalogue, directly or through up to MAX_HOPS
services. The nearest upstream incident wins (the closest cause), the oldest one among equals.
The processor calls `attach_symptom` for every correlated alert."""

from django.db.models import Case, IntegerField, Value, When

from tocsin.catalog.models import Dependency
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.services import record_entry

from ..models import Alert
from ..pipeline import Decision, stage

MAX_HOPS = 3


def upstream_by_distance(service_id, hops=MAX_HOPS):
    """{service id: hops} for every service `service_id` depends on within `hops`; one query per
    hop, each by the indexed `service` side of the edges."""
    distance, frontier = {}, {service_id}
    for hop in range(1, hops + 1):
        if not frontier:
            break
        reached = set(Dependency.objects.filter(service_id__in=frontier).values_list("depends_on_id", flat=True))
        frontier = reached - distance.keys() - {service_id}
        for found in frontier:
            distance[found] = hop
    return distance


def upstream_incident(service_id):
    """The open incident of the nearest upstream service, or None."""
    distance = upstream_by_distance(service_id)
    if not distance:
        return None
    by_hop = {}
    for upstream, hops in distance.items():
        by_hop.setdefault(hops, []).append(upstream)
    nearest_first = Case(*(When(service_id__in=ids, then=Value(hops)) for hops, ids in by_hop.items()),
                         output_field=IntegerField())
    return (Incident.objects.filter(service_id__in=distance, status__in=Incident.OPEN)
            .annotate(hops=nearest_first).order_by("hops", "created_at", "pk").first())


@stage("correlation")
def decide(alert, settings, now):
    if not settings.suppress_dependents or alert.service_id is None:
        return None
    incident = upstream_incident(alert.service_id)
    if incident is None:
        return None
    return Decision(handling=Alert.CORRELATED, reason=f"caused by upstream incident {incident.reference}",
                    incident=incident)


def attach_symptom(incident, alert, now):
    """Record `alert` as a symptom on the upstream incident: its service becomes a related service,
    and the incident's timeline notes the first symptom of each service (later ones of the same
    service are listed with the incident's alerts, not repeated on the timeline)."""
    if alert.service_id is None or alert.service_id == incident.service_id:
        return
    incident.related_services.add(alert.service_id)
    record_entry(
        incident, TimelineEntry.NOTE,
        f"Symptom on {alert.service.name}: {alert.summary or alert.dedup_key} (alert {alert.dedup_key}); "
        f"not paged, caused by this incident.",
        key=f"alerts.symptom:{incident.pk}:{alert.service_id}", at=now,
        data={"alert": alert.pk, "service": alert.service_id, "dedup_key": alert.dedup_key})
