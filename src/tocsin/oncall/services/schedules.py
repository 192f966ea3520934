"""Schedule use cases: create, change and delete; a schedule's slug is its permanent address."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from tocsin.core import audit
from tocsin.core.history import stamp
from tocsin.core.timezones import zone

from ..models import RESERVED_SLUGS, Schedule

MAX_NAME = 120


def save_stamped(instance, actor, source):
    stamp(instance, actor, source)
    instance.save()


def touch(schedule):
    """Marks the schedule changed, so caches and pages keyed on updated_at see it."""
    Schedule.objects.filter(pk=schedule.pk).update(updated_at=timezone.now())


def _checked_name(value, *, exclude=None):
    name = (value or "").strip() if isinstance(value, str) or value is None else None
    if name is None:
        raise ValidationError({"name": "A schedule name must be text."})
    if not name:
        raise ValidationError({"name": "A schedule name is required."})
    if len(name) > MAX_NAME:
        raise ValidationError({"name": f"A schedule name has at most {MAX_NAME} characters."})
    if not slugify(name):
        raise ValidationError({"name": "A schedule name needs at least one letter or digit."})
    if Schedule.objects.filter(name=name).exclude(pk=exclude).exists():
        raise ValidationError({"name": f"A schedule named '{name}' exists already."})
    return name


def _new_slug(name):
    """The slug of a new schedule. A renamed schedule keeps its slug (its calendar subscriptions
    and links use it), so a new name may meet an old slug: it then gets the first free suffix."""
    base = slugify(name)[:MAX_NAME]
    if base in RESERVED_SLUGS:
        raise ValidationError({"name": f"'{name}' is reserved; choose another name."})
    taken = set(Schedule.objects.filter(slug__startswith=base[:MAX_NAME - 12]).values_list("slug", flat=True))
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        suffix = f"-{number}"
        candidate = base[:MAX_NAME - len(suffix)] + suffix
    return candidate


def create_schedule(*, actor, name, time_zone="UTC", team=None, description="", source="ui"):
    name = _checked_name(name)
    zone(time_zone, field="time_zone")
    schedule = Schedule(name=name, slug=_new_slug(name), time_zone=time_zone, team=team, description=description)
    with transaction.atomic():
        save_stamped(schedule, actor, source)
        audit.record(actor, "oncall.schedule.created", schedule,
                     summary={"name": name, "time_zone": time_zone, "team": getattr(team, "pk", None)})
    return schedule


SCHEDULE_FIELDS = {"name", "time_zone", "team", "description"}


def update_schedule(schedule, *, actor, source="ui", **fields):
    """Changes the fields given. Renaming keeps the slug: it is the schedule's permanent address."""
    unknown = set(fields) - SCHEDULE_FIELDS
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "This field cannot be changed here."})
    if "name" in fields:
        fields["name"] = _checked_name(fields["name"], exclude=schedule.pk)
    if "time_zone" in fields:
        zone(fields["time_zone"], field="time_zone")
    before = {k: _plain(getattr(schedule, k)) for k in fields}
    for key, value in fields.items():
        setattr(schedule, key, value)
    schedule.updated_at = timezone.now()
    with transaction.atomic():
        save_stamped(schedule, actor, source)
        audit.record(actor, "oncall.schedule.updated", schedule,
                     summary=audit.changes(before, {k: _plain(getattr(schedule, k)) for k in fields}))
    return schedule


def delete_schedule(schedule, *, actor, source="ui"):
    with transaction.atomic():
        audit.record(actor, "oncall.schedule.deleted", schedule, summary={"name": schedule.name})
        stamp(schedule, actor, source)
        schedule.delete()


def _plain(value):
    return getattr(value, "pk", value) if not isinstance(value, (str, int, type(None))) else value
