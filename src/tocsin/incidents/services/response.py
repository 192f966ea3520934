"""Who works on an incident: reassigning it, paging more people, escalating now, and notes."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tocsin.directory.models import OrgRole, Person
from tocsin.engine import queue

from .. import signals
from ..models import Incident, Responder, TimelineEntry
from ._common import by_whom, locked, require_open, write
from .lifecycle import MAX_DETAILS, _audit, snooze_key

MAX_RESPONDER_TARGETS = 50


def reassign(incident, person, *, actor, at=None):
    """Give the incident to `person`, who is paged as a responder."""
    if not isinstance(person, Person) or not person.is_active:
        raise ValidationError({"person": "Reassign to an active person."})
    at = at or timezone.now()
    with transaction.atomic():
        incident = locked(incident)
        require_open(incident, "reassigned")
        previous = incident.assigned_to
        if previous == person:
            return incident
        incident.assigned_to, incident.updated_at = person, at
        incident.save(update_fields=["assigned_to", "updated_at"])
        Responder.objects.bulk_create([Responder(incident=incident, person=person, reason=Responder.ASSIGNED,
                                                 added_at=at)], ignore_conflicts=True)
        before = f" from {previous.name}" if previous else ""
        write(incident, TimelineEntry.REASSIGNED, f"Reassigned{before} to {person.name} by {by_whom(actor)}.",
              actor=actor, at=at, data={"person": person.pk, "previous": previous.pk if previous else None})
        _audit(actor, "incident.reassign", incident, person=person.pk)
        signals.reassigned.send(type(incident), incident=incident, at=at, actor=actor, person=person)
    return incident


def add_responders(incident, targets, *, actor, message="", at=None):
    """Page more people into a running incident: any mix of people, org roles and schedules,
    resolved when paged (a role to its holders, a schedule to who is on call)."""
    from tocsin.oncall.models import Schedule

    targets = list(targets)
    if not targets:
        raise ValidationError({"targets": "Name at least one person, role or schedule to page."})
    if len(targets) > MAX_RESPONDER_TARGETS:
        raise ValidationError({"targets": f"Page at most {MAX_RESPONDER_TARGETS} targets at once."})
    for target in targets:
        if not isinstance(target, (Person, OrgRole, Schedule)):
            raise ValidationError({"targets": "Targets are people, org roles or schedules."})
        if isinstance(target, Person) and not target.is_active:
            raise ValidationError({"targets": f"{target.name} is deactivated."})
    message = (message or "").strip()
    if len(message) > 1000:
        raise ValidationError({"message": "Keep the message within 1,000 characters."})
    at = at or timezone.now()
    with transaction.atomic():
        incident = locked(incident)
        require_open(incident, "given more responders")
        names = ", ".join(getattr(t, "name", str(t)) for t in targets)
        write(incident, TimelineEntry.RESPONDERS, f"{by_whom(actor)} paged {names}." + (f" “{message}”" if message else ""),
              actor=actor, at=at, data={"targets": [_describe(t) for t in targets], "message": message})
        _audit(actor, "incident.add_responders", incident, targets=[_describe(t) for t in targets])
        signals.responders_requested.send(type(incident), incident=incident, at=at, actor=actor, targets=targets,
                                          message=message)
    return incident


def _describe(target):
    return {"type": type(target).__name__.lower(), "id": target.pk}


def escalate_now(incident, *, actor, via="web", at=None):
    """Page the next tier now, without waiting for the current tier's window. Callers check
    the escalation:initiate permission (restricted escalation initiation). An acknowledged
    incident is triggered again: escalation only pages while nobody owns the incident.
    `via` says how the request came in (web, api, sms, voice, slack…), as for acknowledge."""
    at = at or timezone.now()
    with transaction.atomic():
        incident = locked(incident)
        require_open(incident, "escalated")
        was_acknowledged = incident.status == Incident.ACKNOWLEDGED
        if was_acknowledged:
            incident.status, incident.acknowledged_at, incident.snoozed_until = Incident.TRIGGERED, None, None
            incident.updated_at = at
            incident.save(update_fields=["status", "acknowledged_at", "snoozed_until", "updated_at"])
            queue.cancel(snooze_key(incident))
        write(incident, TimelineEntry.ESCALATED,
              f"Escalated to the next tier by {by_whom(actor)} via {via}"
              + ("; no longer acknowledged." if was_acknowledged else "."),
              actor=actor, at=at, data={"by_hand": True, "was_acknowledged": was_acknowledged, "via": via})
        _audit(actor, "incident.escalate_now", incident, via=via)
        signals.escalation_requested.send(type(incident), incident=incident, at=at, actor=actor)
    return incident


def add_note(incident, text, *, actor, at=None):
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "A note needs some text."})
    if len(text) > MAX_DETAILS:
        raise ValidationError({"text": f"Keep a note within {MAX_DETAILS:,} characters."})
    at = at or timezone.now()
    with transaction.atomic():
        write(incident, TimelineEntry.NOTE, text, actor=actor, at=at)
        _audit(actor, "incident.note", incident)
    return incident


def complete_security_review(incident, *, actor, note="", at=None):
    """The extra review a security incident asks for is done (E7): the flag is cleared, with who did
    it and what they found on the timeline. Reviewing twice changes nothing (False)."""
    note = (note or "").strip()
    if len(note) > MAX_DETAILS:
        raise ValidationError({"note": f"Keep the finding within {MAX_DETAILS:,} characters."})
    at = at or timezone.now()
    with transaction.atomic():
        incident = locked(incident)
        if not incident.security:
            raise ValidationError({"incident": "Only a security incident has a security review."})
        if not incident.needs_review:
            return incident, False
        incident.needs_review, incident.updated_at = False, at
        incident.save(update_fields=["needs_review", "updated_at"])
        write(incident, TimelineEntry.NOTE, f"Security review completed by {by_whom(actor)}." + (f" {note}" if note else ""),
              actor=actor, at=at, data={"security_review": True})
        _audit(actor, "incident.security_review", incident)
    return incident, True
