"""On-call use cases: the only code that changes schedules, layers, overrides and swaps.
Each runs in a transaction, takes the acting user explicitly, validates everything before
writing (nothing partial is saved) and records the change in the audit log and history."""

from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from tocsin.core import audit
from tocsin.core.history import stamp
from tocsin.directory.models import OrgRole, Person
from tocsin.core.timezones import zone

from . import signals
from .models import RESERVED_SLUGS, Layer, Override, Participant, Schedule, ShiftSwap
from .rotation import parse_restrictions


MAX_LAYERS = 20
MAX_PARTICIPANTS = 200
MAX_SHIFT_HOURS = 24 * 366
# Rotations are computed in local time; dates far outside these would overflow.
EARLIEST_DATE, LATEST_DATE = date(1970, 1, 1), date(2999, 12, 31)


def _save(instance, actor, source):
    stamp(instance, actor, source)
    instance.save()


def _slug_for(name, *, exclude=None):
    slug = slugify(name)[:120]
    if not slug:
        raise ValidationError({"name": "A schedule name needs at least one letter or digit."})
    if slug in RESERVED_SLUGS:
        raise ValidationError({"name": f"'{name}' is reserved; choose another name."})
    clash = Schedule.objects.filter(slug=slug).exclude(pk=exclude)
    if clash.exists() or Schedule.objects.filter(name=name).exclude(pk=exclude).exists():
        raise ValidationError({"name": f"A schedule named '{name}' exists already."})
    return slug


def _check_zone(name, field="time_zone"):
    try:
        zone(name)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages[0]}) from None


# --- schedules ---------------------------------------------------------------

def create_schedule(*, actor, name, time_zone="UTC", team=None, description="", source="ui"):
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A schedule name is required."})
    _check_zone(time_zone)
    schedule = Schedule(name=name, slug=_slug_for(name), time_zone=time_zone, team=team, description=description)
    with transaction.atomic():
        _save(schedule, actor, source)
        audit.record(actor, "oncall.schedule.created", schedule,
                     summary={"name": name, "time_zone": time_zone, "team": getattr(team, "pk", None)})
    return schedule


def update_schedule(schedule, *, actor, source="ui", **fields):
    allowed = {"name", "time_zone", "team", "description"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "This field cannot be changed here."})
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
        if not fields["name"]:
            raise ValidationError({"name": "A schedule name is required."})
        fields["slug"] = _slug_for(fields["name"], exclude=schedule.pk)
    if "time_zone" in fields:
        _check_zone(fields["time_zone"])
    before = {k: _plain(getattr(schedule, k)) for k in fields}
    for key, value in fields.items():
        setattr(schedule, key, value)
    schedule.updated_at = timezone.now()
    with transaction.atomic():
        _save(schedule, actor, source)
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


# --- layers ------------------------------------------------------------------

def _participants(items):
    """People and OrgRoles (or Participant-like ("person"|"role", id) pairs) as slots."""
    slots = []
    for item in items:
        if isinstance(item, Person):
            if not item.is_active:
                raise ValidationError({"participants": f"{item.name} is deactivated."})
            slots.append(("person", item))
        elif isinstance(item, OrgRole):
            slots.append(("role", item))
        else:
            raise ValidationError({"participants": f"'{item}' is neither a person nor a role."})
    if len(slots) > MAX_PARTICIPANTS:
        raise ValidationError({"participants": f"At most {MAX_PARTICIPANTS} participants per layer."})
    return slots


def _validate_layer(layer):
    if layer.rotation not in dict(Layer.ROTATIONS):
        raise ValidationError({"rotation": f"Unknown rotation '{layer.rotation}'."})
    if layer.unit not in dict(Layer.UNITS):
        raise ValidationError({"unit": f"Unknown unit '{layer.unit}': use hours or days."})
    if not isinstance(layer.length, int) or layer.length < 1:
        raise ValidationError({"length": "The shift length must be at least 1."})
    hours = layer.length * (24 if layer.unit == Layer.DAYS else 1)
    if layer.rotation == Layer.CUSTOM and hours > MAX_SHIFT_HOURS:
        raise ValidationError({"length": "A shift may last at most 366 days."})
    if not isinstance(layer.shift_size, int) or not 1 <= layer.shift_size <= MAX_PARTICIPANTS:
        raise ValidationError({"shift_size": "The shift size must be between 1 and 200."})
    if not isinstance(layer.handoff_time, time):
        raise ValidationError({"handoff_time": "The handoff time must be a time of day."})
    if not isinstance(layer.start_date, date) or isinstance(layer.start_date, datetime):
        raise ValidationError({"start_date": "The start date must be a date."})
    for field in ("start_date", "end_date"):
        value = getattr(layer, field)
        if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
            raise ValidationError({field: f"Choose a date between {EARLIEST_DATE} and {LATEST_DATE}."})
    if layer.end_date is not None and layer.end_date <= layer.start_date:
        raise ValidationError({"end_date": "The layer must end after its start date."})
    try:
        layer.restrictions = [w.as_dict() for w in parse_restrictions(layer.restrictions)]
    except ValidationError as exc:
        raise ValidationError({"restrictions": exc.messages[0]}) from None
    if not (layer.name or "").strip():
        raise ValidationError({"name": "A layer name is required."})


def _write_participants(layer, slots):
    layer.participants.all().delete()
    Participant.objects.bulk_create([
        Participant(layer=layer, position=i, person=obj if kind == "person" else None,
                    role=obj if kind == "role" else None)
        for i, (kind, obj) in enumerate(slots)
    ])


def _slots_summary(slots):
    return [f"{kind}:{obj.pk}" for kind, obj in slots]


def add_layer(schedule, *, actor, name, start_date, participants=(), rotation=Layer.WEEKLY, handoff_time=time(9),
              length=1, unit=Layer.DAYS, shift_size=1, restrictions=(), end_date=None, level=None, source="ui"):
    slots = _participants(participants)
    if schedule.layers.count() >= MAX_LAYERS:
        raise ValidationError({"level": f"A schedule has at most {MAX_LAYERS} layers."})
    if level is None:
        level = max(schedule.layers.values_list("level", flat=True), default=0) + 1
    elif schedule.layers.filter(level=level).exists():
        raise ValidationError({"level": f"Level {level} is taken on this schedule."})
    layer = Layer(schedule=schedule, name=(name or "").strip(), level=level, rotation=rotation, length=length,
                  unit=unit, handoff_time=handoff_time, start_date=start_date, end_date=end_date,
                  shift_size=shift_size, restrictions=list(restrictions or []))
    _validate_layer(layer)
    if rotation != Layer.CALENDAR and not slots:
        raise ValidationError({"participants": "A rotation needs at least one participant."})
    with transaction.atomic():
        _save(layer, actor, source)
        _write_participants(layer, slots)
        _touch(schedule)
        audit.record(actor, "oncall.layer.added", schedule,
                     summary={"layer": layer.pk, "name": layer.name, "rotation": rotation,
                              "participants": _slots_summary(slots)})
    return layer


LAYER_FIELDS = {"name", "level", "rotation", "length", "unit", "handoff_time", "start_date", "end_date",
                "shift_size", "restrictions"}


def update_layer(layer, *, actor, participants=None, source="ui", **fields):
    unknown = set(fields) - LAYER_FIELDS
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "This field cannot be changed here."})
    slots = _participants(participants) if participants is not None else None
    if "level" in fields and Layer.objects.filter(schedule=layer.schedule_id, level=fields["level"]).exclude(
            pk=layer.pk).exists():
        raise ValidationError({"level": f"Level {fields['level']} is taken on this schedule."})
    before = {k: str(getattr(layer, k)) for k in fields}
    for key, value in fields.items():
        setattr(layer, key, value)
    _validate_layer(layer)
    if slots is not None and not slots and layer.rotation != Layer.CALENDAR:
        raise ValidationError({"participants": "A rotation needs at least one participant."})
    layer.updated_at = timezone.now()
    summary = audit.changes(before, {k: str(getattr(layer, k)) for k in fields})
    if slots is not None:
        summary["participants"] = _slots_summary(slots)
    with transaction.atomic():
        _save(layer, actor, source)
        if slots is not None:
            _write_participants(layer, slots)
        _touch(layer.schedule)
        audit.record(actor, "oncall.layer.updated", layer.schedule, summary={"layer": layer.pk, **summary})
    return layer


def remove_layer(layer, *, actor, source="ui"):
    schedule = layer.schedule
    with transaction.atomic():
        audit.record(actor, "oncall.layer.removed", schedule, summary={"layer": layer.pk, "name": layer.name})
        stamp(layer, actor, source)
        layer.delete()
        _touch(schedule)


def _touch(schedule):
    Schedule.objects.filter(pk=schedule.pk).update(updated_at=timezone.now())


# --- overrides and swaps -------------------------------------------------------

def _check_interval(starts_at, ends_at, *, prefix=""):
    for name, value in ((f"{prefix}starts_at", starts_at), (f"{prefix}ends_at", ends_at)):
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValidationError({name: "Give a date and time with its UTC offset."})
    if ends_at <= starts_at:
        raise ValidationError({f"{prefix}ends_at": "The end must be after the start."})
    if ends_at - starts_at > timezone.timedelta(days=366):
        raise ValidationError({f"{prefix}ends_at": "An override may last at most 366 days."})


def add_override(schedule, *, actor, person, starts_at, ends_at, replaces=None, reason="", source="ui", swap=None):
    """`person` is on call from `starts_at` to `ends_at`, for everyone or in place of `replaces`."""
    _check_interval(starts_at, ends_at)
    if not person.is_active:
        raise ValidationError({"person": f"{person.name} is deactivated."})
    if replaces is not None and replaces.pk == person.pk:
        raise ValidationError({"replaces": "A person cannot cover for themselves."})
    override = Override(schedule=schedule, person=person, replaces=replaces, starts_at=starts_at, ends_at=ends_at,
                        reason=(reason or "")[:200], swap=swap, created_by=_user(actor))
    with transaction.atomic():
        _save(override, actor, source)
        _touch(schedule)
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
        _touch(schedule)


def _user(actor):
    from tocsin.core.models import User

    return User.objects.filter(pk=actor.id).first() if actor.type == "user" and actor.id else None


def _on_call_during(schedule, person, starts_at, ends_at):
    from .selectors import shifts

    found, _ = shifts(schedule, starts_at, ends_at)
    return any(s.assignment.person_id == person.pk and s.assignment.delegated_from is None for s in found)


def request_swap(schedule, *, actor, requester, counterpart, starts_at, ends_at, return_starts_at=None,
                 return_ends_at=None, note="", source="ui"):
    """`requester` offers their shift [starts_at, ends_at) to `counterpart` (and, for a true
    swap, asks for the counterpart's shift in return). Nothing changes until it is accepted."""
    _check_interval(starts_at, ends_at)
    if requester.pk == counterpart.pk:
        raise ValidationError({"counterpart": "A swap needs two different people."})
    if not counterpart.is_active:
        raise ValidationError({"counterpart": f"{counterpart.name} is deactivated."})
    if (return_starts_at is None) != (return_ends_at is None):
        raise ValidationError({"return_ends_at": "Give both the start and the end of the shift taken in return."})
    if return_starts_at is not None:
        _check_interval(return_starts_at, return_ends_at, prefix="return_")
        if not _on_call_during(schedule, counterpart, return_starts_at, return_ends_at):
            raise ValidationError({"return_starts_at": f"{counterpart.name} is not on call then."})
    if not _on_call_during(schedule, requester, starts_at, ends_at):
        raise ValidationError({"starts_at": f"{requester.name} is not on call between those times."})
    swap = ShiftSwap(schedule=schedule, requester=requester, counterpart=counterpart, starts_at=starts_at,
                     ends_at=ends_at, return_starts_at=return_starts_at, return_ends_at=return_ends_at,
                     note=(note or "")[:200], requested_by=_user(actor))
    with transaction.atomic():
        _save(swap, actor, source)
        audit.record(actor, "oncall.swap.requested", schedule,
                     summary={"swap": swap.pk, "requester": requester.pk, "counterpart": counterpart.pk,
                              "starts_at": starts_at, "ends_at": ends_at})
    transaction.on_commit(lambda: signals.swap_requested.send(Schedule, swap=swap))
    return swap


def _decide(swap, status, actor, source):
    with transaction.atomic():
        locked = ShiftSwap.objects.select_for_update().get(pk=swap.pk)
        if locked.status != ShiftSwap.PENDING:
            raise ValidationError({"status": f"This swap is already {locked.get_status_display().lower()}."})
        locked.status = status
        locked.decided_by = _user(actor)
        locked.decided_at = timezone.now()
        _save(locked, actor, source)
        if status == ShiftSwap.ACCEPTED:
            add_override(locked.schedule, actor=actor, person=locked.counterpart, replaces=locked.requester,
                         starts_at=locked.starts_at, ends_at=locked.ends_at, reason="Shift swap",
                         source=source, swap=locked)
            if locked.return_starts_at is not None:
                add_override(locked.schedule, actor=actor, person=locked.requester, replaces=locked.counterpart,
                             starts_at=locked.return_starts_at, ends_at=locked.return_ends_at,
                             reason="Shift swap", source=source, swap=locked)
        audit.record(actor, f"oncall.swap.{status}", locked.schedule, summary={"swap": locked.pk})
    return locked


def accept_swap(swap, *, actor, source="ui"):
    """The counterpart takes the shift; it is recorded as overrides that cite the swap."""
    return _decide(swap, ShiftSwap.ACCEPTED, actor, source)


def decline_swap(swap, *, actor, source="ui"):
    return _decide(swap, ShiftSwap.DECLINED, actor, source)


def cancel_swap(swap, *, actor, source="ui"):
    return _decide(swap, ShiftSwap.CANCELLED, actor, source)


# --- calendars and feeds -------------------------------------------------------
# Imported calendar layers and the secret iCal feeds. Imports sit here, not at the top,
# to keep this section self-contained.

from . import feeds as feed_tokens  # noqa: E402
from . import ical_import  # noqa: E402

MAX_LEVEL = 32767


def _calendar_level(schedule, level, layer):
    if level is None:
        if layer is not None:
            return layer.level
        return max(schedule.layers.values_list("level", flat=True), default=0) + 1
    if type(level) is not int or not 1 <= level <= MAX_LEVEL:
        raise ValidationError({"level": f"The level must be a whole number from 1 to {MAX_LEVEL}."})
    taken = schedule.layers.filter(level=level)
    if layer is not None:
        taken = taken.exclude(pk=layer.pk)
    if taken.exists():
        raise ValidationError({"level": f"Level {level} is taken on this schedule."})
    return level


def import_calendar_layer(schedule, *, actor, source_text, name, level=None, layer=None, source="ui"):
    """A layer whose shifts are the events of an RFC 5545 calendar: a new one, or `layer`
    (an imported calendar layer of this schedule) with its source replaced. Every event must
    name exactly one active person; nothing is saved otherwise."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A layer name is required."})
    if len(name) > 120:
        raise ValidationError({"name": "A layer name has at most 120 characters."})
    if layer is not None and (layer.schedule_id != schedule.pk or layer.rotation != Layer.CALENDAR):
        raise ValidationError({"layer": "Only an imported calendar layer of this schedule can be replaced."})
    if layer is None and schedule.layers.count() >= MAX_LAYERS:
        raise ValidationError({"level": f"A schedule has at most {MAX_LAYERS} layers."})
    level = _calendar_level(schedule, level, layer)
    checked = ical_import.check(source_text, zone(schedule.time_zone))
    replaced = layer is not None
    if layer is None:
        layer = Layer(schedule=schedule, rotation=Layer.CALENDAR)
    # For display only (events decide the shifts), kept within the dates layer forms accept.
    layer.start_date = min(max(checked.first_day, date(1970, 1, 1)), date(2999, 12, 31))
    layer.name, layer.level = name, level
    layer.end_date = None
    layer.calendar, layer.calendar_people = source_text, checked.people
    layer.updated_at = timezone.now()  # a new version: cached parses of the old source are left behind
    with transaction.atomic():
        _save(layer, actor, source)
        _touch(schedule)
        audit.record(actor, "oncall.layer.imported", schedule,
                     summary={"layer": layer.pk, "name": name, "level": level, "replaced": replaced,
                              "events": checked.events, "people": sorted(set(checked.people.values())),
                              "bytes": len(source_text.encode("utf-8", errors="surrogatepass"))})
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
        feed, secret = feed_tokens.issue(schedule=schedule, person=person, created_by=created_by)
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
