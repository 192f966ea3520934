"""The status of an incident: trigger, acknowledge, snooze, re-trigger and resolve."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from tocsin.core import audit
from tocsin.engine import queue

from .. import signals
from ..models import Incident, IncidentCounter, TimelineEntry
from ._common import by_whom, locked, require_open, write

MAX_TITLE = 255
MAX_DETAILS = 20_000
MAX_SNOOZE_MINUTES = 7 * 24 * 60


def _next_number():
    """One UPDATE … RETURNING, so concurrent triggers never share a number."""
    if not IncidentCounter.objects.exists():
        IncidentCounter.objects.bulk_create([IncidentCounter(pk=1, value=0)], ignore_conflicts=True)
    table = IncidentCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET value = value + 1 WHERE id = 1 RETURNING value")
        return cursor.fetchone()[0]


def _clean_text(title, details):
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": "Say what is wrong in a title."})
    if len(title) > MAX_TITLE:
        raise ValidationError({"title": f"Keep the title within {MAX_TITLE} characters."})
    details = (details or "").strip()
    if len(details) > MAX_DETAILS:
        raise ValidationError({"details": f"Keep the details within {MAX_DETAILS:,} characters."})
    return title, details


def trigger_incident(service, title, *, actor, details="", urgency=Incident.HIGH, source="manual",
                     related_services=(), priority=None, alert_key="", created_by=None, at=None,
                     security_category=None):
    """Open an incident on `service`; escalation starts at once (the `triggered` signal).
    A `security_category` makes it a security incident: restricted, and flagged for review."""
    title, details = _clean_text(title, details)
    if urgency not in {Incident.HIGH, Incident.LOW}:
        raise ValidationError({"urgency": "Urgency is 'high' or 'low'."})
    at = at or timezone.now()
    with transaction.atomic():
        incident = Incident.objects.create(
            number=_next_number(), service=service, title=title, details=details, urgency=urgency, source=source,
            priority=priority, alert_key=alert_key, created_at=at, updated_at=at, created_by=created_by,
            security=bool(security_category), security_category=security_category or "",
            needs_review=bool(security_category),
        )
        related = [s for s in related_services if s.pk != service.pk]
        if related:
            incident.related_services.set(related)
        write(incident, TimelineEntry.CREATED, f"Triggered by {by_whom(actor)} ({source}) on {service.name}.",
              actor=actor, at=at, data={"source": source, "urgency": urgency})
        if actor.type in {"user", "token"}:
            audit.record(actor, "incident.trigger", incident, summary={
                "number": incident.number, "service": service.pk, "urgency": urgency, "source": source})
        signals.triggered.send(Incident, incident=incident, at=at)
    return incident


def acknowledge(incident, *, actor, via="web", at=None):
    """Stop the escalation: someone owns this now. Acknowledging twice changes nothing (False)."""
    at = at or timezone.now()
    with transaction.atomic():
        incident = locked(incident)
        require_open(incident, "acknowledged")
        if incident.status == Incident.ACKNOWLEDGED:
            return incident, False
        incident.status, incident.acknowledged_at, incident.updated_at = Incident.ACKNOWLEDGED, at, at
        incident.save(update_fields=["status", "acknowledged_at", "updated_at"])
        write(incident, TimelineEntry.ACKNOWLEDGED, f"Acknowledged by {by_whom(actor)} via {via}.", actor=actor,
              at=at, data={"via": via})
        _audit(actor, "incident.acknowledge", incident, via=via)
        signals.acknowledged.send(Incident, incident=incident, at=at, actor=actor, via=via)
    return incident, True


def unacknowledge(incident, *, actor, reason="", at=None):
    """Back to triggered; escalation starts over from the first tier."""
    at = at or timezone.now()
    with transaction.atomic():
        incident = locked(incident)
        require_open(incident, "re-triggered")
        if incident.status != Incident.ACKNOWLEDGED:
            raise ValidationError({"status": f"Incident {incident.reference} is not acknowledged."})
        incident.status, incident.acknowledged_at, incident.snoozed_until = Incident.TRIGGERED, None, None
        incident.updated_at = at
        incident.save(update_fields=["status", "acknowledged_at", "snoozed_until", "updated_at"])
        queue.cancel(snooze_key(incident))
        why = f" ({reason})" if reason else ""
        write(incident, TimelineEntry.UNACKNOWLEDGED, f"Re-triggered by {by_whom(actor)}{why}; escalation starts over.",
              actor=actor, at=at, data={"reason": reason})
        _audit(actor, "incident.unacknowledge", incident, reason=reason)
        signals.retriggered.send(Incident, incident=incident, at=at, actor=actor, reason=reason)
    return incident


def snooze_key(incident):
    return f"incident:{incident.pk}:snooze"


def snooze(incident, minutes, *, actor, at=None):
    """Acknowledge for `minutes`; if it is still unresolved then, it triggers again."""
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_SNOOZE_MINUTES:
        raise ValidationError({"minutes": f"Snooze for 1 to {MAX_SNOOZE_MINUTES} minutes (a week)."})
    at = at or timezone.now()
    with transaction.atomic():
        incident, _ = acknowledge(incident, actor=actor, via="snooze", at=at)
        until = at + timedelta(minutes=minutes)
        incident.snoozed_until = until
        incident.save(update_fields=["snoozed_until"])
        queue.cancel(snooze_key(incident))
        queue.schedule("incidents.snooze_end", due_at=until, key=snooze_key(incident),
                       payload={"incident": incident.pk, "until": until.isoformat()})
        write(incident, TimelineEntry.SNOOZED, f"Snoozed by {by_whom(actor)} for {minutes} min.", actor=actor, at=at,
              data={"until": until.isoformat()})
        _audit(actor, "incident.snooze", incident, minutes=minutes)
    return incident


def resolve(incident, *, actor, via="web", note="", at=None):
    """Resolved is final: escalation and every pending follow-up stop."""
    at = at or timezone.now()
    note = (note or "").strip()
    if len(note) > MAX_DETAILS:
        raise ValidationError({"note": f"Keep the note within {MAX_DETAILS:,} characters."})
    with transaction.atomic():
        incident = locked(incident)
        if incident.status == Incident.RESOLVED:
            return incident, False
        incident.status, incident.resolved_at, incident.updated_at = Incident.RESOLVED, at, at
        incident.snoozed_until = None
        incident.save(update_fields=["status", "resolved_at", "updated_at", "snoozed_until"])
        queue.cancel(snooze_key(incident))
        message = f"Resolved by {by_whom(actor)} via {via}." + (f" {note}" if note else "")
        write(incident, TimelineEntry.RESOLVED, message, actor=actor, at=at, data={"via": via})
        _audit(actor, "incident.resolve", incident, via=via)
        signals.resolved.send(Incident, incident=incident, at=at, actor=actor)
    return incident, True


def _audit(actor, action, incident, **summary):
    if actor.type in {"user", "token"}:
        audit.record(actor, action, incident, summary={"number": incident.number, **summary})
