"""Shapes of on-call resources on the JSON API, and the strict reading of instants it is given."""

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from django.core.exceptions import ValidationError
from ninja import Field, Query
from pydantic import AfterValidator, model_validator

from tocsin.core.schemas import MAX_ID, Patch, Schema

from .rotation import parse_clock
from .services import MAX_LEVEL

EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)
# Rotation dates far from these would overflow Python's datetime range once converted to UTC.
LayerDate = Annotated[date, Field(ge=date(1900, 1, 1), le=date(8999, 12, 31))]


def _checked(value: datetime, field: str) -> datetime:
    """An aware instant in UTC, between 1900 and 9000; ValidationError naming `field` otherwise."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError({field: "Give a date and time with its UTC offset, such as 2026-03-29T09:00:00+02:00."})
    if value.utcoffset() % timedelta(minutes=1):
        raise ValidationError({field: "A UTC offset in whole minutes is required."})
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValidationError({field: "The date is out of range."}) from None
    if not EARLIEST <= value < LATEST:
        raise ValidationError({field: "The date must lie between the years 1900 and 9000."})
    return value


def instant(raw: str | None, field: str, default=None) -> datetime:
    """A query parameter read as an ISO 8601 instant with its offset: naive, malformed or odd
    offsets are refused with a 400 that names the parameter."""
    if raw is None or raw == "":
        return default
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        hint = " (encode '+' in the offset as %2B)" if " " in raw else ""
        raise ValidationError({field: f"'{raw[:40]}' is not an ISO 8601 date and time{hint}."}) from None
    return _checked(value, field)


def _body_instant(value: datetime) -> datetime:
    # Naive values pass through for the services to refuse by field name (400).
    if value.tzinfo is None:
        return value
    try:
        return _checked(value, "value")
    except ValidationError as exc:
        raise ValueError(exc.messages[0]) from None


Instant = Annotated[datetime, AfterValidator(_body_instant)]
InstantQuery = Annotated[str | None, Query(None, description="ISO 8601 with its UTC offset (encode '+' as %2B)",
                                           max_length=64, format="date-time")]


def clock(value: str | None, field="handoff_time"):
    """"HH:MM" as a time of day, with the error under `field`."""
    try:
        return parse_clock(value)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages[0]}) from None


# --- shared pieces ------------------------------------------------------------


class Named(Schema):
    id: int
    name: str


class GapOut(Schema):
    start: datetime
    end: datetime


# --- schedules ----------------------------------------------------------------


class ParticipantIn(Schema):
    person: int | None = Field(default=None, ge=1, le=MAX_ID)
    role: int | None = Field(default=None, ge=1, le=MAX_ID)

    @model_validator(mode="after")
    def _one(self):
        if (self.person is None) == (self.role is None):
            raise ValueError("give exactly one of person or role")
        return self


class ParticipantOut(Schema):
    position: int
    person: Named | None
    role: Named | None


class LayerIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    level: int | None = Field(default=None, ge=1, le=MAX_LEVEL,
                              description="Higher levels win; next free by default")
    rotation: Literal["daily", "weekly", "custom"] = "weekly"
    length: int = Field(default=1, ge=1, le=32767, description="Custom rotations: the shift length in units")
    unit: Literal["hours", "days"] = "days"
    handoff_time: str = Field(default="09:00", description="HH:MM in the schedule's time zone")
    start_date: LayerDate
    end_date: LayerDate | None = None
    shift_size: int = Field(default=1, ge=1, le=200)
    restrictions: list[dict] = Field(default=[], max_length=50,
                                     description='[{"days": [0..6], "start": "HH:MM", "end": "HH:MM"}]')
    participants: list[ParticipantIn] = Field(min_length=1, max_length=200)


class LayerPatch(Patch):
    """A partial update: omit a field to keep it; only end_date may be null (no end)."""

    _nullable = ("end_date",)

    name: str | None = Field(default=None, min_length=1, max_length=120)
    level: int | None = Field(default=None, ge=1, le=MAX_LEVEL)
    rotation: Literal["daily", "weekly", "custom"] | None = None
    length: int | None = Field(default=None, ge=1, le=32767)
    unit: Literal["hours", "days"] | None = None
    handoff_time: str | None = None
    start_date: LayerDate | None = None
    end_date: LayerDate | None = None
    shift_size: int | None = Field(default=None, ge=1, le=200)
    restrictions: list[dict] | None = Field(default=None, max_length=50)
    participants: list[ParticipantIn] | None = Field(default=None, max_length=200)


class LayerOut(Schema):
    id: int
    name: str
    level: int
    rotation: str
    length: int
    unit: str
    handoff_time: str
    start_date: date
    end_date: date | None
    shift_size: int
    restrictions: list[dict]
    participants: list[ParticipantOut]

    @staticmethod
    def resolve_handoff_time(layer):
        return layer.handoff_time.strftime("%H:%M")

    @staticmethod
    def resolve_participants(layer):
        return [
            {"position": p.position,
             "person": {"id": p.person_id, "name": p.person.name} if p.person_id else None,
             "role": {"id": p.role_id, "name": p.role.name} if p.role_id else None}
            for p in layer.participants.all()
        ]


class ScheduleIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    time_zone: str = Field(default="UTC", max_length=64, description="IANA zone, such as Europe/Berlin")
    team: str | None = Field(default=None, max_length=120, description="Team slug; none: needs global reach")
    description: str = Field(default="", max_length=2000)


class SchedulePatch(Patch):
    _nullable = ("team",)

    name: str | None = Field(default=None, min_length=1, max_length=120)
    time_zone: str | None = Field(default=None, max_length=64)
    team: str | None = Field(default=None, max_length=120, description="Team slug; null for none")
    description: str | None = Field(default=None, max_length=2000)


class ScheduleOut(Schema):
    """Read from a Schedule with its team, layers and participants prefetched."""

    id: int
    name: str
    slug: str
    description: str
    team: str | None
    time_zone: str
    layers: list[LayerOut]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_team(schedule):
        return schedule.team.slug if schedule.team_id else None

    @staticmethod
    def resolve_layers(schedule):
        return list(schedule.layers.all())


class ScheduleDetail(ScheduleOut):
    gaps_next_14_days: list[GapOut]
    vacancies: list[str]


# --- overrides and swaps --------------------------------------------------------


class OverrideIn(Schema):
    person: int = Field(ge=1, le=MAX_ID)
    replaces: int | None = Field(default=None, ge=1, le=MAX_ID, description="Only in place of this person")
    starts_at: Instant
    ends_at: Instant
    reason: str = Field(default="", max_length=200)


class OverrideOut(Schema):
    id: int
    person: Named
    replaces: Named | None
    starts_at: datetime
    ends_at: datetime
    reason: str
    swap: int | None
    created_at: datetime

    @staticmethod
    def resolve_person(override):
        return {"id": override.person_id, "name": override.person.name}

    @staticmethod
    def resolve_replaces(override):
        return {"id": override.replaces_id, "name": override.replaces.name} if override.replaces_id else None

    @staticmethod
    def resolve_swap(override):
        return override.swap_id


class SwapIn(Schema):
    requester: int = Field(ge=1, le=MAX_ID)
    counterpart: int = Field(ge=1, le=MAX_ID)
    starts_at: Instant
    ends_at: Instant
    return_starts_at: Instant | None = None
    return_ends_at: Instant | None = None
    note: str = Field(default="", max_length=200)


class SwapOut(Schema):
    id: int
    schedule: int
    requester: Named
    counterpart: Named
    starts_at: datetime
    ends_at: datetime
    return_starts_at: datetime | None
    return_ends_at: datetime | None
    note: str
    status: str
    created_at: datetime
    decided_at: datetime | None

    @staticmethod
    def resolve_schedule(swap):
        return swap.schedule_id

    @staticmethod
    def resolve_requester(swap):
        return {"id": swap.requester_id, "name": swap.requester.name}

    @staticmethod
    def resolve_counterpart(swap):
        return {"id": swap.counterpart_id, "name": swap.counterpart.name}


# --- who is on call ---------------------------------------------------------------


class OnCallOut(Schema):
    person: Named
    start: datetime | None = Field(description="Start of the current final shift; null: more than 31 days before")
    end: datetime | None = Field(description="End of the current final shift; null: more than 31 days after")
    source: Literal["layer", "override", "swap", "unknown"]
    layer: Named | None
    override: int | None
    swap: int | None
    role: Named | None
    delegated_from: Named | None


class ScheduleRef(Schema):
    id: int
    name: str
    slug: str


class ScheduleOnCall(Schema):
    schedule: ScheduleRef
    oncall: list[OnCallOut]


class ShiftOut(Schema):
    person: Named
    start: datetime
    end: datetime
    source: Literal["layer", "override", "swap", "unknown"]
    layer: Named | None
    override: int | None
    swap: int | None
    role: Named | None
    delegated_from: Named | None


class TimelineOut(Schema):
    start: datetime
    end: datetime
    shifts: list[ShiftOut]
    gaps: list[GapOut]


def named(obj):
    return {"id": obj.pk, "name": obj.name} if obj is not None else None


def entry(person, assignment, start, end, *, layers, role=None, delegated_from=None):
    """One shift or on-call entry as the API shows it; `layers` maps layer id -> name."""
    layer_id = assignment.layer_id
    return {
        "person": named(person), "start": start, "end": end, "source": assignment.source,
        "layer": {"id": layer_id, "name": layers.get(layer_id, "")} if layer_id else None,
        "override": assignment.override_id, "swap": assignment.swap_id,
        "role": named(role), "delegated_from": named(delegated_from),
    }
