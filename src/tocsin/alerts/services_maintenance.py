"""Use cases that create and end maintenance windows (E4); each is audited as a configuration change."""

from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tocsin.catalog.models import Service
from tocsin.core import audit
from tocsin.core.timezones import zone
from tocsin.oncall.wallclock import local, to_utc

from .models import MaintenanceWindow
from .stages.maintenance import occurrence_at, wall_schedule

WALL_FORMAT = "%Y%m%dT%H%M%S"
# Below the column's 255 so that ending a recurring window can always append its UNTIL.
MAX_RECURRENCE = 200
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _instant(value, tz, field):
    """An aware instant; a naive one is read as wall-clock time in the window's zone."""
    if not isinstance(value, datetime):
        raise ValidationError({field: "Give a date and time."})
    if timezone.is_naive(value):
        return to_utc(value.replace(microsecond=0), tz)
    return value


def _services(services):
    wanted = list(services or [])
    ids = {s.pk if isinstance(s, Service) else s for s in wanted}
    if not ids:
        raise ValidationError({"services": "Choose at least one service."})
    try:
        found = list(Service.objects.filter(pk__in=ids))
    except (TypeError, ValueError):
        raise ValidationError({"services": "Give services or their ids."}) from None
    if len(found) != len(ids):
        raise ValidationError({"services": "Unknown service."})
    return found


def create_window(*, actor, name, services, starts_at, ends_at, time_zone="UTC", recurrence="", reason="",
                  created_by=None):
    """A new maintenance window. A naive start or end is local time in `time_zone`; a recurring
    window repeats the first occurrence's local start and length by the RRULE `recurrence`."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the window a name."})
    if len(name) > 120:
        raise ValidationError({"name": "At most 120 characters."})
    tz = zone(time_zone, "time_zone")
    starts_at = _instant(starts_at, tz, "starts_at")
    ends_at = _instant(ends_at, tz, "ends_at")
    for field, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if not EARLIEST <= value <= LATEST:  # (far-off dates overflow once moved into a time zone)
            raise ValidationError({field: "Give a date between the years 1970 and 9000."})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "The end must be after the start."})
    reason = (reason or "").strip()
    if len(reason) > 255:
        raise ValidationError({"reason": "At most 255 characters."})
    recurrence = (recurrence or "").strip()
    if recurrence:
        if len(recurrence) > MAX_RECURRENCE:
            raise ValidationError({"recurrence": f"At most {MAX_RECURRENCE} characters."})
        try:
            wall_schedule(recurrence, local(starts_at, tz), time_zone)
        except ValueError as exc:
            raise ValidationError({"recurrence": str(exc)}) from None
        if local(ends_at, tz) <= local(starts_at, tz):
            raise ValidationError({"ends_at": "On the local clock, the end must be after the start."})
    chosen = _services(services)
    with transaction.atomic():
        window = MaintenanceWindow.objects.create(
            name=name, starts_at=starts_at, ends_at=ends_at, time_zone=time_zone, recurrence=recurrence,
            reason=reason, created_by=created_by)
        window.services.set(chosen)
        audit.record(actor, "alerts.maintenance.create", window, summary={
            "name": name, "services": sorted(s.pk for s in chosen), "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(), "time_zone": time_zone, "recurrence": recurrence})
    return window


def _stop_recurring_before(window, wall):
    """The window's RRULE, changed so that no occurrence starts at or after the wall-clock `wall`."""
    body = window.recurrence.strip()
    if body[:6].upper() == "RRULE:":
        body = body[6:]
    parts = [p for p in body.split(";")
             if p and p.split("=")[0].strip().upper() not in {"UNTIL", "COUNT"}]
    parts.append("UNTIL=" + (wall - timedelta(seconds=1)).strftime(WALL_FORMAT))
    return ";".join(parts)


def end_window(window, *, actor, at=None):
    """End the window at `at` (now by default). A window on now ends at once (a recurring one
    also stops recurring); one that has not begun is cancelled (deleted); future occurrences of
    a recurring window are dropped. Returns the window, or None when it was cancelled."""
    at = at or timezone.now()
    with transaction.atomic():
        window = MaintenanceWindow.objects.select_for_update().get(pk=window.pk)
        before = {"starts_at": window.starts_at.isoformat(), "ends_at": window.ends_at.isoformat(),
                  "recurrence": window.recurrence}
        if window.starts_at > at:
            audit.record(actor, "alerts.maintenance.cancel", window, summary={"name": window.name, **before})
            window.delete()
            return None
        tz = zone(window.time_zone, "time_zone")
        current = occurrence_at(window, at)
        if not window.recurrence:
            if current is None:
                raise ValidationError({"ends_at": "The window is already over."})
            window.ends_at = at
        elif current is not None and current.starts_at <= window.starts_at:
            # The first occurrence is on: what is left is a one-off window ending now.
            window.recurrence, window.ends_at = "", at
        else:
            wall = local(current.starts_at, tz) if current is not None else local(at, tz)
            if current is None and wall_schedule(window.recurrence, local(window.starts_at, tz),
                                                 window.time_zone).after(wall) is None:
                raise ValidationError({"ends_at": "The window is already over."})
            if current is None:
                wall += timedelta(seconds=1)  # occurrences that began by now are history, keep them
            window.recurrence = _stop_recurring_before(window, wall)
        window.save(update_fields=["ends_at", "recurrence"])
        audit.record(actor, "alerts.maintenance.end", window, summary={
            "name": window.name, "at": at.isoformat(), "before": before,
            "after": {"ends_at": window.ends_at.isoformat(), "recurrence": window.recurrence}})
    return window
