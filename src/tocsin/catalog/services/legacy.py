"""Use cases for legacy exceptions: request one with a reason and review date, approve it (four eyes)."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tocsin.core import audit
from tocsin.core.permissions import PermissionDeniedError, can

from ..durations import parse_minutes
from ..models import LegacyException
from ._fields import stamp

MAX_REVIEW_DAYS = 3 * 366  # an exception nobody looks at for longer is no longer an exception


def request_exception(service, *, actor, requested_by, summary, reason, review_on, ack_minutes=None,
                      escalate_after_minutes=None, today=None, source="ui"):
    today = today or timezone.localdate()
    summary = (summary or "").strip()
    reason = (reason or "").strip()
    if not summary or len(summary) > 200:
        raise ValidationError({"summary": "Describe the deviation in 1 to 200 characters."})
    if not reason or len(reason) > 5000:
        raise ValidationError({"reason": "Give the reason for the exception (up to 5,000 characters)."})
    if not isinstance(review_on, date):
        raise ValidationError({"review_on": "A review date is required."})
    if review_on <= today:
        raise ValidationError({"review_on": "The review date must lie in the future."})
    if (review_on - today).days > MAX_REVIEW_DAYS:
        raise ValidationError({"review_on": "Review the exception within three years."})
    exception = LegacyException(
        service=service, summary=summary, reason=reason, review_on=review_on, requested_by=requested_by,
        ack_minutes=parse_minutes(ack_minutes, "ack_minutes"),
        escalate_after_minutes=parse_minutes(escalate_after_minutes, "escalate_after_minutes"),
    )
    with transaction.atomic():
        stamp(exception, actor, source)
        exception.save()
        audit.record(actor, "catalog.exception.request", exception, summary={
            "service": service.pk, "summary": summary, "review_on": review_on,
            "ack_minutes": exception.ack_minutes, "escalate_after_minutes": exception.escalate_after_minutes,
        })
    return exception


def approve_exception(exception, *, principal, actor, source="ui"):
    """Only a holder of catalog:approve who did not ask for the exception may approve it. The row is
    locked and its status read again inside the transaction, so two approvers cannot both succeed."""
    if not can(principal, "catalog:approve"):
        raise PermissionDeniedError("catalog:approve")
    with transaction.atomic():
        current = LegacyException.objects.select_for_update().filter(pk=exception.pk).first()
        if current is None:
            raise ValidationError({"status": "This exception no longer exists."})
        if current.status != LegacyException.PENDING:
            raise ValidationError({"status": "This exception is approved already."})
        if current.requested_by_id == principal.user.pk:
            raise ValidationError({"approved_by": "Four eyes: the person who requested an exception cannot approve it."})
        current.status = LegacyException.APPROVED
        current.approved_by = principal.user
        current.approved_at = timezone.now()
        stamp(current, actor, source)
        current.save()
        audit.record(actor, "catalog.exception.approve", current, summary={
            "service": current.service_id, "requested_by": current.requested_by_id,
        })
    # The caller's instance shows what was stored.
    exception.status, exception.approved_by, exception.approved_at = current.status, current.approved_by, current.approved_at
    return exception
