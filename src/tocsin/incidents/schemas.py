"""Shapes of incidents on the JSON API: the list filters, an incident with its timeline, and the
bodies of the actions taken on it. Values the services judge (urgency, snooze minutes, an empty
title) are left to them, so the answer is a 400 naming the field."""

from datetime import datetime
from typing import Annotated, Literal

from ninja import Field, Path

from tocsin.core.schemas import MAX_ID, Schema, UtcDatetime

from .services.lifecycle import MAX_DETAILS, MAX_SNOOZE_MINUTES, MAX_TITLE

# Incident numbers are a 32-bit column; a larger number names no incident.
IncidentNumber = Annotated[int, Path(ge=1, le=2**31 - 1)]
# An upper bound on list input, far above what the services accept, so a huge body is refused early.
MAX_TARGETS_IN = 200


class IncidentFilter(Schema):
    status: list[Annotated[str, Field(max_length=60)]] = Field(
        default=[], max_length=20,
        description="triggered, acknowledged or resolved; repeat it or separate with commas (default: the open ones)")
    service: int | None = Field(default=None, ge=1, le=MAX_ID, description="Service id")
    urgency: Literal["high", "low"] | None = None
    assigned_to: str | None = Field(default=None, pattern=r"^(me|[1-9][0-9]{0,18})$",
                                    description="A person id, or 'me'")
    unpaged: bool | None = Field(default=None, description="Only incidents whose escalation ran out (or not)")
    q: str | None = Field(default=None, max_length=200, description="Words in the title")
    created_after: UtcDatetime | None = None
    created_before: UtcDatetime | None = None


class Ref(Schema):
    id: int
    name: str


class IncidentOut(Schema):
    """Read from an Incident with service, assignee and priority loaded."""

    id: int
    number: int
    reference: str
    title: str
    status: str
    urgency: str
    service: Ref
    assigned_to: Ref | None
    priority: str | None
    source: str
    unpaged: bool
    security: bool
    security_category: str
    needs_review: bool
    snoozed_until: datetime | None
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    updated_at: datetime

    @staticmethod
    def resolve_priority(incident):
        return incident.priority.name if incident.priority else None


class TimelineOut(Schema):
    kind: str
    at: datetime
    actor_type: str
    actor_label: str
    message: str
    data: dict


class ResponderOut(Schema):
    person: Ref
    reason: str
    added_at: datetime


class IncidentDetail(IncidentOut):
    """Read from selectors.incident_detail (timeline, responders and related services prefetched)."""

    details: str
    related_services: list[Ref]
    timeline: list[TimelineOut]
    responders: list[ResponderOut]

    @staticmethod
    def resolve_related_services(incident):
        return [{"id": s.pk, "name": s.name} for s in incident.related_services.all()]

    @staticmethod
    def resolve_timeline(incident):
        return list(incident.timeline.all())

    @staticmethod
    def resolve_responders(incident):
        return list(incident.responders.all())


class IncidentIn(Schema):
    service_id: int = Field(ge=1, le=MAX_ID, description="The service that is affected")
    title: str = Field(max_length=MAX_TITLE)
    details: str = Field(default="", max_length=MAX_DETAILS)
    urgency: str = Field(default="high", max_length=16, description="high or low")


class ResolveIn(Schema):
    note: str = Field(default="", max_length=MAX_DETAILS)


class SnoozeIn(Schema):
    minutes: int = Field(description=f"1 to {MAX_SNOOZE_MINUTES} (a week)")


class ReassignIn(Schema):
    person_id: int = Field(ge=1, le=MAX_ID)


class NoteIn(Schema):
    text: str = Field(max_length=MAX_DETAILS)


class SecurityReviewIn(Schema):
    note: str = Field(default="", max_length=MAX_DETAILS)


class TargetIn(Schema):
    type: Literal["person", "role", "schedule"]
    id: int = Field(ge=1, le=MAX_ID)


class RespondersIn(Schema):
    targets: list[TargetIn] = Field(max_length=MAX_TARGETS_IN, description="People, org roles and schedules to page")
    message: str = Field(default="", max_length=1000)
