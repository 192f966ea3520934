"""From the escalation outbox to delivery attempts: each pending notification request becomes one
attempt per step of its person's chain, due at the page plus the step's delay. Database effects
only (exactly once: one attempt per request and step); sending is sending.py's."""

from django.db import connection, transaction

from tocsin.core.bulk import insert_each
from tocsin.directory.values import mask
from tocsin.escalation.models import NotificationRequest
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.services import engine_entry, record_entries

from . import chains, outcomes, wakeups
from .models import Attempt
from .provider_choice import any_configured

BATCH = 500
# Pages that only make sense while nobody has acknowledged (an added responder or a deadline page
# still goes out to an acknowledged incident).
UNTIL_ACKNOWLEDGED = (NotificationRequest.PAGE, NotificationRequest.FOLLOW_UP, NotificationRequest.FALLBACK)


def obsolete(request, incident):
    if incident.status == Incident.RESOLVED:
        return True
    return incident.status == Incident.ACKNOWLEDGED and request.reason in UNTIL_ACKNOWLEDGED


def _pending(size):
    rows = NotificationRequest.objects.filter(state=NotificationRequest.PENDING).order_by("created_at", "pk")
    if connection.vendor == "postgresql":
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    rows = list(rows.select_related("person")[:size])
    # One incident read once for all its requests (a mass page has thousands).
    incidents = Incident.objects.select_related("service").in_bulk({row.incident_id for row in rows})
    for row in rows:
        row.incident = incidents[row.incident_id]
    return rows


def dispatch(now, size=BATCH):
    """Turn up to `size` pending requests into attempts; returns how many requests were taken."""
    if not any_configured():
        return 0
    with transaction.atomic():
        requests = _pending(size)
        if not requests:
            return 0
        attempts, entries, cancelled, handled, unreachable = [], [], [], [], []
        by_urgency = {}
        for request in requests:
            by_urgency.setdefault(request.urgency, set()).add(request.person_id)
        steps_of = {urgency: chains.chains_for(list(people), urgency) for urgency, people in by_urgency.items()}
        for request in requests:
            incident = request.incident
            if obsolete(request, incident):
                cancelled.append(request.pk)
                continue
            handled.append(request.pk)
            emergency = chains.in_emergency(incident)
            start = request.created_at  # the page: a chain's delays count from it, even from a backlog
            steps = chains.usable_steps(steps_of[request.urgency].get(request.person_id, []), emergency=emergency,
                                        start=start)
            if not steps:
                unreachable.append(request)
                entries.append(engine_entry(
                    incident, TimelineEntry.NOTIFIED,
                    f"{request.person.name} has no contact method usable now; counted as exhausted.",
                    key=f"notify:unreachable:{request.pk}", at=now, data={"person": request.person_id}))
                continue
            for step in steps:
                attempts.append(Attempt(
                    request=request, incident_id=incident.pk, person_id=request.person_id, step=step.position,
                    method=step.method, channel=step.channel, destination=mask(step.method.kind, step.method.value),
                    due_at=max(start + step.delay, now), created_at=now))
        insert_each(Attempt, attempts, ignore_conflicts=True)
        NotificationRequest.objects.filter(pk__in=handled).update(state=NotificationRequest.HANDLED)
        NotificationRequest.objects.filter(pk__in=cancelled).update(state=NotificationRequest.CANCELLED)
        record_entries(entries)
        wakeups.at({a.due_at for a in attempts})
        for request in unreachable:
            outcomes.person_exhausted(request, now)
    return len(requests)
