"""A policy version's document: tiers, targets, timings. Validated completely before anything is
saved, with errors that name the field ("tiers.1.delay_minutes"), so a broken policy is never
stored half-way."""

from typing import Literal

from django.core.exceptions import ValidationError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as SchemaError

from tocsin.core.schemas import MAX_ID

MAX_TIERS = 10
MAX_DELAY = 24 * 60
MAX_REPEAT = 9
MAX_TARGETS = 20
PATHS = ("technical", "managerial", "executive")
SELECTIONS = ("all", "round_robin", "least_loaded", "expertise")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Target(Strict):
    type: Literal["person", "role", "schedule"]
    id: int = Field(ge=1, le=MAX_ID)


class Tier(Strict):
    delay_minutes: int = Field(ge=1, le=MAX_DELAY, description="The tier's acknowledgement window")
    path: Literal["technical", "managerial", "executive"] = "technical"
    targets: list[Target] = Field(min_length=1, max_length=MAX_TARGETS)
    backup: list[Target] = Field(default_factory=list, max_length=MAX_TARGETS)
    selection: Literal["all", "round_robin", "least_loaded", "expertise"] = "all"
    tags: list[str] = Field(default_factory=list, max_length=10)

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags):
        cleaned = [tag.strip().lower() for tag in tags]
        if any(not tag or len(tag) > 40 or not tag.isprintable() for tag in cleaned):
            raise ValueError("each tag has 1 to 40 printable characters")
        return cleaned

    @model_validator(mode="after")
    def _expertise_needs_tags(self):
        if self.selection == "expertise" and not self.tags:
            raise ValueError("selection by expertise needs at least one tag")
        return self


class Deadline(Strict):
    after_minutes: int = Field(ge=1, le=7 * 24 * 60)
    tier: int = Field(ge=0, description="The tier paged when the incident is still unresolved")
    urgency: Literal["high", "low"] | None = None


class Spec(Strict):
    tiers: list[Tier] = Field(min_length=1, max_length=MAX_TIERS)
    repeat: int = Field(default=0, ge=0, le=MAX_REPEAT, description="Times the whole policy runs again")
    follow_up_minutes: int = Field(default=15, ge=0, le=MAX_DELAY,
                                   description="Re-notify the same tier when unacknowledged this long (0: never)")
    deadlines: list[Deadline] = Field(default_factory=list, max_length=5)
    fallback: list[Target] = Field(default_factory=list, max_length=MAX_TARGETS)

    @model_validator(mode="after")
    def _deadline_tiers_exist(self):
        for index, deadline in enumerate(self.deadlines):
            if deadline.tier >= len(self.tiers):
                raise ValueError(f"deadlines.{index}.tier: there is no tier {deadline.tier + 1}")
        return self


def parse(document):
    """The validated Spec, or a ValidationError whose keys are field paths."""
    if not isinstance(document, dict):
        raise ValidationError({"spec": "A policy is an object with 'tiers'."})
    try:
        return Spec.model_validate(document)
    except SchemaError as exc:
        errors = {}
        for error in exc.errors():
            path = ".".join(str(part) for part in error["loc"]) or "spec"
            message = error["msg"].removeprefix("Value error, ")
            if ": " in message and message.split(": ", 1)[0].startswith("deadlines."):
                path, message = message.split(": ", 1)
            errors.setdefault(path, message)
        if "tiers" in errors and "at least 1" in errors["tiers"]:
            errors["tiers"] = "A policy needs at least one tier."
        raise ValidationError(errors) from None


def all_targets(spec):
    """(path, Target) for every target in the document."""
    for index, tier in enumerate(spec.tiers):
        for n, target in enumerate(tier.targets):
            yield f"tiers.{index}.targets.{n}", target
        for n, target in enumerate(tier.backup):
            yield f"tiers.{index}.backup.{n}", target
    for n, target in enumerate(spec.fallback):
        yield f"fallback.{n}", target


def check_targets(spec):
    """At save time every target must exist, and people must be active."""
    from tocsin.directory.models import OrgRole, Person
    from tocsin.oncall.models import Schedule

    found = list(all_targets(spec))
    wanted = {kind: {t.id for _, t in found if t.type == kind} for kind in ("person", "role", "schedule")}
    people = {p.pk: p for p in Person.objects.filter(pk__in=wanted["person"])}
    roles = set(OrgRole.objects.filter(pk__in=wanted["role"]).values_list("pk", flat=True))
    schedules = set(Schedule.objects.filter(pk__in=wanted["schedule"]).values_list("pk", flat=True))
    errors = {}
    for path, target in found:
        if target.type == "person":
            person = people.get(target.id)
            if person is None:
                errors.setdefault(path, f"There is no person with id {target.id}.")
            elif not person.is_active:
                errors.setdefault(path, f"{person.name} is deactivated.")
        elif target.type == "role" and target.id not in roles:
            errors.setdefault(path, f"There is no org role with id {target.id}.")
        elif target.type == "schedule" and target.id not in schedules:
            errors.setdefault(path, f"There is no schedule with id {target.id}.")
    if errors:
        raise ValidationError(errors)
