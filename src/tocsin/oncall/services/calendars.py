"""Calendar use cases: layers imported from an RFC 5545 calendar, and the secret iCal feeds."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tocsin.core import audit
from tocsin.core.timezones import zone

from .. import calendar_layers, feeds, ical_import
from ..models import Layer
from .layers import EARLIEST_DATE, LATEST_DATE, MAX_LAYERS, check_level
from .schedules import save_stamped, touch

MAX_NAME = 120


def _next_version(layer):
    """A new updated_at, strictly after the stored one: cached parses are keyed on it, so two
    imports within one clock tick (or with the clock stepped back) must still differ."""
    now = timezone.now()
    if layer.updated_at is not None and now <= layer.updated_at:
        return layer.updated_at + timedelta(microseconds=1)
    return now


def import_calendar_layer(schedule, *, actor, source_text, name, level=None, layer=None, source="ui"):
    """A layer whose shifts are the events of an RFC 5545 calendar: a new one, or `layer`
    (an imported calendar layer of this schedule) with its source replaced. Every event must
    name exactly one active person; nothing is saved otherwise."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A layer name is required."})
    if len(name) > MAX_NAME:
        raise ValidationError({"name": f"A layer name has at most {MAX_NAME} characters."})
    if layer is not None and (layer.schedule_id != schedule.pk or layer.rotation != Layer.CALENDAR):
        raise ValidationError({"layer": "Only an imported calendar layer of this schedule can be replaced."})
    if layer is None and schedule.layers.count() >= MAX_LAYERS:
        raise ValidationError({"level": f"A schedule has at most {MAX_LAYERS} layers."})
    if level is None and layer is not None:
        level = layer.level
    else:
        level = check_level(schedule, level, layer=layer)
    checked = ical_import.check(source_text, zone(schedule.time_zone))
    replaced = layer is not None
    if layer is None:
        layer = Layer(schedule=schedule, rotation=Layer.CALENDAR, updated_at=None)
    # For display only (events decide the shifts), kept within the dates layer forms accept.
    layer.start_date = min(max(checked.first_day, EARLIEST_DATE), LATEST_DATE)
    layer.name, layer.level = name, level
    layer.end_date = None
    layer.calendar, layer.calendar_people = source_text, checked.people
    layer.updated_at = _next_version(layer)  # a new version: cached parses of the old source are left behind
    with transaction.atomic():
        save_stamped(layer, actor, source)
        touch(schedule)
        audit.record(actor, "oncall.layer.imported", schedule,
                     summary={"layer": layer.pk, "name": name, "level": level, "replaced": replaced,
                              "events": checked.events, "people": sorted(set(checked.people.values())),
                              "bytes": len(source_text.encode("utf-8", errors="surrogatepass"))})
    calendar_layers.forget(layer.pk)
    return layer


def create_feed(*, actor, created_by, schedule=None, person=None):
    """A secret iCal subscription to `schedule` or to `person`'s shifts: (feed, secret).
    The secret is shown once to its creator and recorded nowhere, the audit log included."""
    if (schedule is None) == (person is None):
        raise ValidationError({"feed": "A feed is for one schedule or for one person."})
    if person is not None and not person.is_active:
        raise ValidationError({"person": f"{person.name} is deactivated."})
    if created_by is None or not created_by.is_active:
        raise ValidationError({"feed": "A feed needs an active user who owns it."})
    with transaction.atomic():
        feed, secret = feeds.issue(schedule=schedule, person=person, created_by=created_by)
        audit.record(actor, "oncall.feed.created", feed,
                     summary={"schedule": getattr(schedule, "pk", None), "person": getattr(person, "pk", None),
                              "owner": created_by.pk})
    return feed, secret


def revoke_feed(feed, *, actor):
    """Stops a feed for good; revoking twice changes nothing."""
    now = timezone.now()
    with transaction.atomic():
        # Conditional, so two revocations racing each other record one entry.
        if type(feed).objects.filter(pk=feed.pk, revoked_at__isnull=True).update(revoked_at=now):
            audit.record(actor, "oncall.feed.revoked", feed,
                         summary={"schedule": feed.schedule_id, "person": feed.person_id})
    feed.refresh_from_db(fields=["revoked_at"])
    return feed
