"""Breach protocol use cases: open a suspected breach with its obligations, complete them, close it."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tocsin.core import audit

from ..models_breach import BreachObligation, SuspectedBreach

# Deadlines counted from detection; GDPR art. 33 gives the authority 72 hours.
DEADLINES = {
    BreachObligation.INTERNAL: timedelta(hours=24),
    BreachObligation.AUTHORITY: timedelta(hours=72),
    BreachObligation.SUBJECTS: timedelta(hours=72),
}


def open_breach(*, actor, opened_by, description, window_start, window_end, detected_at=None, suspect_actor=""):
    description = (description or "").strip()
    if len(description) < 10:
        raise ValidationError({"description": "Describe what was seen, in at least 10 characters."})
    if window_end <= window_start:
        raise ValidationError({"window_end": "The window must end after it starts."})
    detected_at = detected_at or timezone.now()
    with transaction.atomic():
        breach = SuspectedBreach.objects.create(
            description=description, detected_at=detected_at, window_start=window_start, window_end=window_end,
            suspect_actor=(suspect_actor or "").strip()[:150], opened_by=opened_by,
        )
        BreachObligation.objects.bulk_create(
            [BreachObligation(breach=breach, kind=kind, due_at=detected_at + delay) for kind, delay in DEADLINES.items()]
        )
        audit.record(actor, "breach.opened", breach, summary={"window": [window_start, window_end]})
    return breach


def complete_obligation(obligation, *, actor, done_by, note=""):
    if obligation.done_at is not None:
        raise ValidationError({"obligation": "This obligation is already met."})
    with transaction.atomic():
        obligation.done_at, obligation.done_by, obligation.note = timezone.now(), done_by, (note or "")[:4000]
        obligation.save()
        audit.record(
            actor, "breach.obligation_met", obligation.breach,
            summary={"kind": obligation.kind, "late": obligation.done_at > obligation.due_at},
        )
    return obligation


def close_breach(breach, *, actor, conclusion):
    if breach.status == SuspectedBreach.CLOSED:
        raise ValidationError({"status": "This breach is already closed."})
    with transaction.atomic():
        breach.status, breach.closed_at, breach.conclusion = SuspectedBreach.CLOSED, timezone.now(), conclusion or ""
        breach.save()
        audit.record(actor, "breach.closed", breach)
    return breach


def record_scope_view(breach, *, actor, people):
    """Looking at who a breach touched lists people: that read is audited too."""
    audit.record(actor, "breach.scope_viewed", breach, summary={"people": people})
