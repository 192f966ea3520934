"""Override use cases: someone on call in place of everyone, or of one person, for a while."""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction

from tocsin.core import audit
from tocsin.core.history import stamp, user_of

from ..models import Override
from .schedules import save_stamped, touch

MAX_OVERRIDE = timedelta(days=366)


def check_interval(starts_at, ends_at, *, prefix=""):
    for name, value in ((f"{prefix}starts_at", starts_at), (f"{prefix}ends_at", ends_at)):
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValidationError({name: "Give a date and time with its UTC offset."})
    if ends_at <= starts_at:
        raise ValidationError({f"{prefix}ends_at": "The end must be after the start."})
    if ends_at - starts_at > MAX_OVERRIDE:
        raise ValidationError({f"{prefix}ends_at": "An override may last at most 366 days."})


def add_override(schedule, *, actor, person, starts_at, ends_at, replaces=None, reason="", source="ui", swap=None):
    """`person` is on call from `starts_at` to `ends_at`, for everyone or in place of `replaces`."""
    check_interval(starts_at, ends_at)
    if not person.is_active:
        raise ValidationError({"person": f"{person.name} is deactivated."})
    if replaces is not None and replaces.pk == person.pk:
        raise ValidationError({"replaces": "A person cannot cover for themselves."})
    override = Override(schedule=schedule, person=person, replaces=replaces, starts_at=starts_at, ends_at=ends_at,
                        reason=(reason or "")[:200], swap=swap, created_by=user_of(actor))
    with transaction.atomic():
        save_stamped(override, actor, source)
        touch(schedule)
        audit.record(actor, "oncall.override.added", schedule,
                     summary={"override": override.pk, "person": person.pk,
                              "replaces": getattr(replaces, "pk", None), "starts_at": starts_at,
                              "ends_at": ends_at, "swap": getattr(swap, "pk", None)})
    return override


def remove_override(override, *, actor, source="ui"):
    schedule = override.schedule
    with transaction.atomic():
        audit.record(actor, "oncall.override.removed", schedule,
                     summary={"override": override.pk, "person": override.person_id})
        stamp(override, actor, source)
        override.delete()
        touch(schedule)
