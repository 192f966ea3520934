"""Shapes of escalation policies, service links and an incident's escalation on the JSON API.

The policy document (`spec`) is taken as a plain object and validated by escalation.spec, so every
mistake in it is a 400 whose errors are keyed by the field's path ("tiers.1.delay_minutes")."""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from ninja import Field

from tocsin.core.schemas import MAX_ID, Patch, Schema

SPEC_HELP = (
    "The policy document: {tiers: [{delay_minutes, path, targets: [{type: person|role|schedule, id}], backup, "
    "selection: all|round_robin|least_loaded|expertise, tags}], repeat, follow_up_minutes, "
    "deadlines: [{after_minutes, tier, urgency}], fallback: [{type, id}]}")

# Anything is taken, so that a document of the wrong shape is refused like any other broken one:
# a 400 from escalation.spec naming the field.
Document = Any


def refuse_nul(document):
    """A ValidationError naming the first text in `document` with a NUL character: PostgreSQL cannot
    store it, and the base schema's check does not look inside a free-form object. Paths are
    written as escalation.spec writes them ("tiers.0.tags.1")."""
    pending = [("", document)]
    while pending:
        where, value = pending.pop()
        if isinstance(value, str) and "\x00" in value:
            raise ValidationError({where or "spec": "Text must not contain NUL characters."})
        if isinstance(value, dict):
            pending.extend((where, key) for key in value)
            pending.extend((f"{where}.{key}".lstrip("."), item) for key, item in value.items())
        elif isinstance(value, list):
            pending.extend((f"{where}.{index}".lstrip("."), item) for index, item in enumerate(value))


class Named(Schema):
    id: int
    name: str


class TeamRef(Schema):
    id: int
    name: str
    slug: str


class ServiceRef(Schema):
    id: int
    name: str
    slug: str
    ack_timeout_minutes: int | None


class PolicyIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=5000)
    team: int | None = Field(default=None, ge=1, le=MAX_ID, description="Id of the team that owns the policy")
    spec: Document = Field(default=None, description=SPEC_HELP, json_schema_extra={"type": "object"})
    reason: str = Field(default="Created", max_length=2000, description="Why the policy is set this way")


class PolicyPatch(Patch):
    _nullable = ("team",)

    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=5000)
    team: int | None = Field(default=None, ge=1, le=MAX_ID, description="null: no team (needs reach over every team)")
    spec: Document = Field(default=None, description=SPEC_HELP + " A changed document is a new version.",
                           json_schema_extra={"type": "object"})
    reason: str | None = Field(default=None, max_length=2000, description="Required with `spec`")


class PolicyOut(Schema):
    id: int
    name: str
    description: str
    team: TeamRef | None
    version: int | None
    spec: dict | None
    services: list[ServiceRef]
    created_at: datetime

    @staticmethod
    def resolve_version(policy):
        return policy.current.number if policy.current_id else None

    @staticmethod
    def resolve_spec(policy):
        return policy.current.spec if policy.current_id else None

    @staticmethod
    def resolve_services(policy):
        return [{"id": link.service.pk, "name": link.service.name, "slug": link.service.slug,
                 "ack_timeout_minutes": link.ack_timeout_minutes} for link in policy.services.all()]


class VersionOut(Schema):
    number: int
    reason: str
    created_by: str | None
    created_at: datetime
    spec: dict

    @staticmethod
    def resolve_created_by(version):
        return version.created_by.username if version.created_by_id else None


class ServiceEscalationIn(Schema):
    policy: int = Field(ge=1, le=MAX_ID)
    ack_timeout_minutes: int | None = Field(
        default=None, description="Acknowledged but unresolved this long: trigger and escalate again (1 to 10080)")


class ServiceEscalationOut(Schema):
    service: int
    policy: Named | None
    ack_timeout_minutes: int | None


class RequestOut(Schema):
    id: int
    person: Named
    reason: str
    tier: int | None = Field(description="Tier index, from 0; null for pages outside the tiers")
    cycle: int | None
    follow_up: int
    urgency: str
    state: str
    created_at: datetime


class NextStepOut(Schema):
    tier: int | None = Field(description="Tier index, from 0; null: the final fallback")
    cycle: int
    follow_up: int
    at: datetime | None
    label: str


class IncidentEscalationOut(Schema):
    incident: int
    state: str = Field(description="running, paused (acknowledged), stopped (resolved) or exhausted (fallback paged)")
    state_label: str
    policy: Named | None
    version: int | None
    tier: int | None = Field(description="The tier paged last (index, from 0); null before the first page")
    cycle: int | None = Field(description="The repeat of the policy that tier belongs to, from 0")
    follow_up: int | None = Field(description="0: the tier's first page; n: its n-th follow-up")
    path: str | None
    tier_count: int
    fallback_paged: bool
    next_step: NextStepOut | None = Field(description="What runs next and when, while escalating")
    next_step_at: datetime | None
    targets: list[Named] = Field(description="The people the current tier paged")
    requests: list[RequestOut]
