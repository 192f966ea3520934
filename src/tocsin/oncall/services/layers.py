"""Layer use cases: add, change and remove a schedule's rotations, and the level rules every layer follows."""

from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tocsin.core import audit
from tocsin.core.history import stamp
from tocsin.directory.models import OrgRole, Person

from .. import calendar_layers
from ..models import Layer, Participant
from ..rotation import parse_restrictions
from .schedules import save_stamped, touch

MAX_LAYERS = 20
MAX_LEVEL = 1000
MAX_PARTICIPANTS = 200
MAX_SHIFT_HOURS = 24 * 366
# Rotations are computed in local time; dates far outside these would overflow.
EARLIEST_DATE, LATEST_DATE = date(1970, 1, 1), date(2999, 12, 31)
LAYER_FIELDS = {"name", "level", "rotation", "length", "unit", "handoff_time", "start_date", "end_date",
                "shift_size", "restrictions"}


def check_level(schedule, level, *, layer=None):
    """`level` if it is a whole number from 1 to MAX_LEVEL and free on `schedule` (apart from
    `layer` itself); None means the level just above the highest one."""
    if level is None:
        level = max(schedule.layers.values_list("level", flat=True), default=0) + 1
        if level > MAX_LEVEL:
            raise ValidationError({"level": f"Level {MAX_LEVEL} is taken; choose a free level from 1 to {MAX_LEVEL}."})
        return level
    if type(level) is not int or not 1 <= level <= MAX_LEVEL:
        raise ValidationError({"level": f"The level must be a whole number from 1 to {MAX_LEVEL}."})
    taken = schedule.layers.filter(level=level)
    if layer is not None:
        taken = taken.exclude(pk=layer.pk)
    if taken.exists():
        raise ValidationError({"level": f"Level {level} is taken on this schedule."})
    return level


def _participants(items):
    """People and OrgRoles as ("person"|"role", object) slots, in order."""
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
    if type(layer.length) is not int or layer.length < 1:
        raise ValidationError({"length": "The shift length must be at least 1."})
    hours = layer.length * (24 if layer.unit == Layer.DAYS else 1)
    if layer.rotation == Layer.CUSTOM and hours > MAX_SHIFT_HOURS:
        raise ValidationError({"length": "A shift may last at most 366 days."})
    if type(layer.shift_size) is not int or not 1 <= layer.shift_size <= MAX_PARTICIPANTS:
        raise ValidationError({"shift_size": f"The shift size must be between 1 and {MAX_PARTICIPANTS}."})
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
    if rotation == Layer.CALENDAR:
        raise ValidationError({"rotation": "An imported calendar layer is made by importing a calendar."})
    slots = _participants(participants)
    if schedule.layers.count() >= MAX_LAYERS:
        raise ValidationError({"level": f"A schedule has at most {MAX_LAYERS} layers."})
    level = check_level(schedule, level)
    layer = Layer(schedule=schedule, name=(name or "").strip(), level=level, rotation=rotation, length=length,
                  unit=unit, handoff_time=handoff_time, start_date=start_date, end_date=end_date,
                  shift_size=shift_size, restrictions=list(restrictions or []))
    _validate_layer(layer)
    if not slots:
        raise ValidationError({"participants": "A rotation needs at least one participant."})
    with transaction.atomic():
        save_stamped(layer, actor, source)
        _write_participants(layer, slots)
        touch(schedule)
        audit.record(actor, "oncall.layer.added", schedule,
                     summary={"layer": layer.pk, "name": layer.name, "rotation": rotation,
                              "participants": _slots_summary(slots)})
    return layer


def _check_rotation_change(layer, rotation, slots):
    """A calendar layer and a rotation are different things: neither becomes the other (the
    calendar's text would linger, or a rotation would be left with nobody)."""
    if rotation == layer.rotation:
        return
    if layer.rotation == Layer.CALENDAR:
        raise ValidationError({"rotation": "An imported calendar layer cannot become a rotation; "
                                           "add a rotation layer and remove this one."})
    if rotation == Layer.CALENDAR:
        raise ValidationError({"rotation": "A rotation cannot become an imported calendar; "
                                           "import the calendar as a layer of its own."})
    if slots is None and not layer.participants.exists():
        raise ValidationError({"participants": "A rotation needs at least one participant."})


def update_layer(layer, *, actor, participants=None, source="ui", **fields):
    unknown = set(fields) - LAYER_FIELDS
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "This field cannot be changed here."})
    slots = _participants(participants) if participants is not None else None
    if "rotation" in fields:
        _check_rotation_change(layer, fields["rotation"], slots)
    if "level" in fields:
        if fields["level"] is None:
            raise ValidationError({"level": f"The level must be a whole number from 1 to {MAX_LEVEL}."})
        check_level(layer.schedule, fields["level"], layer=layer)
    if slots and layer.rotation == Layer.CALENDAR:
        raise ValidationError({"participants": "An imported calendar layer takes its people from the calendar."})
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
        save_stamped(layer, actor, source)
        if slots is not None:
            _write_participants(layer, slots)
        touch(layer.schedule)
        audit.record(actor, "oncall.layer.updated", layer.schedule, summary={"layer": layer.pk, **summary})
    calendar_layers.forget(layer.pk)
    return layer


def remove_layer(layer, *, actor, source="ui"):
    schedule, pk = layer.schedule, layer.pk
    with transaction.atomic():
        audit.record(actor, "oncall.layer.removed", schedule, summary={"layer": layer.pk, "name": layer.name})
        stamp(layer, actor, source)
        layer.delete()
        touch(schedule)
    calendar_layers.forget(pk)
