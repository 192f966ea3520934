"""What the engine (escalation, notifications) writes on incidents. Every write is keyed, so a
retried step never writes twice, and each comes in a bulk form for a batch of steps."""

from tocsin.core import audit
from tocsin.core.bulk import insert_each

from .. import live
from ..models import Incident, Responder, TimelineEntry
from ._common import entry

ENGINE = audit.Actor.system("engine")


def engine_entry(incident, kind, message, *, key, at, data=None):
    """An unsaved timeline entry by the engine, for `record_entries`."""
    return entry(incident, kind, message, actor=ENGINE, at=at, data=data, key=key)


def record_entries(entries):
    """Timeline entries, one per key; a key recorded before is left as it is."""
    if entries:
        insert_each(TimelineEntry, entries, ignore_conflicts=True)
        live.changed(*(e.incident_id for e in entries))


def record_entry(incident, kind, message, *, key, at, data=None):
    record_entries([engine_entry(incident, kind, message, key=key, at=at, data=data)])


def add_paged(pairs, at):
    """(incident id, person id) pairs paged by escalation: they become responders (need-to-know
    for each other's contact details)."""
    Responder.objects.bulk_create(
        [Responder(incident_id=i, person_id=p, reason=Responder.PAGED, added_at=at) for i, p in pairs],
        ignore_conflicts=True)


def assign_unowned(assignments):
    """{incident id: person id}: the first person paged owns an incident nobody owns yet."""
    by_person = {}
    for incident_id, person_id in assignments.items():
        by_person.setdefault(person_id, []).append(incident_id)
    for person_id, ids in by_person.items():
        Incident.objects.filter(pk__in=ids, assigned_to__isnull=True).update(assigned_to_id=person_id)


def flag_unpaged(incident_ids):
    """Escalation ran out: flagged for the dashboard and /metrics (with a timeline entry each)."""
    if incident_ids:
        Incident.objects.filter(pk__in=incident_ids).update(unpaged=True)
