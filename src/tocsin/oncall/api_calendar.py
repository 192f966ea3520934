"""On-call JSON API for calendar import and feeds."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Status
from ninja.pagination import paginate

from tocsin.core.api_auth import check
from tocsin.core.schemas import MAX_ID, ObjectId, Schema
from tocsin.core.view_access import actor
from tocsin.directory.models import Person

from . import feeds, services
from .schemas import MAX_LEVEL
from .models import CalendarFeed, Layer, Schedule

router = Router(tags=["oncall"])
SOURCE = "api"


class FeedOut(Schema):
    id: int
    schedule_id: int | None
    person_id: int | None
    prefix: str = Field(description="The start of the secret, to recognise the feed")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @staticmethod
    def resolve_prefix(feed):
        return feed.token_prefix


class FeedCreated(FeedOut):
    url: str = Field(description="The subscription address with its secret; shown only in this response")


class CalendarImportIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    level: int | None = Field(default=None, ge=1, le=MAX_LEVEL)
    layer_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="An imported layer to replace")
    calendar: str = Field(description="The RFC 5545 text, at most 1 MiB and 10,000 events")


class ImportedLayerOut(Schema):
    id: int
    schedule_id: int
    name: str
    level: int
    rotation: str
    people: list[int] = Field(description="Ids of the people the events name")
    updated_at: datetime

    @staticmethod
    def resolve_people(layer):
        return sorted(set(layer.calendar_people.values()))


def _created(request, feed, secret):
    feed.url = feeds.address(feed, secret)  # on this response only; never stored
    return Status(201, feed)


@router.post("/schedules/{schedule_id}/feeds", response={201: FeedCreated},
             summary="Create a secret iCal feed of a schedule; its address is returned once")
def create_schedule_feed(request, schedule_id: ObjectId):
    check(request, "oncall:read")
    schedule = get_object_or_404(Schedule, pk=schedule_id)
    feed, secret = services.create_feed(actor=actor(request), created_by=request.principal.user, schedule=schedule)
    return _created(request, feed, secret)


@router.post("/people/{person_id}/feeds", response={201: FeedCreated},
             summary="Create a secret iCal feed of a person's shifts (one's own, or as oncall:manage)")
def create_person_feed(request, person_id: ObjectId):
    check(request, "oncall:read")
    person = get_object_or_404(Person, pk=person_id)
    if not feeds.may_create(request.principal, person=person):
        feeds.refuse(request.principal, "oncall:manage", target=f"person:{person_id}")
    feed, secret = services.create_feed(actor=actor(request), created_by=request.principal.user, person=person)
    return _created(request, feed, secret)


@router.get("/feeds", response=list[FeedOut], summary="The caller's calendar feeds, revoked ones included")
@paginate
def list_feeds(request):
    check(request, "oncall:read")
    return CalendarFeed.objects.filter(created_by=request.principal.user).order_by("-created_at", "-pk")


@router.delete("/feeds/{feed_id}", response={204: None}, summary="Revoke a feed (one's own, or as oncall:manage)")
def revoke_feed(request, feed_id: ObjectId):
    feed = get_object_or_404(CalendarFeed.objects.select_related("schedule", "person"), pk=feed_id)
    if not feeds.may_revoke(request.principal, feed):
        feeds.refuse(request.principal, "oncall:manage", getattr(feed.schedule, "team_id", None),
                     target=f"feed:{feed_id}")
    services.revoke_feed(feed, actor=actor(request))
    return Status(204, None)


@router.post("/schedules/{schedule_id}/calendar-import", response={201: ImportedLayerOut},
             summary="Import an iCalendar as a layer, or replace an imported layer's calendar")
def import_calendar(request, schedule_id: ObjectId, payload: CalendarImportIn):
    schedule = get_object_or_404(Schedule, pk=schedule_id)
    check(request, "oncall:manage", schedule.team_id, target=f"schedule:{schedule_id}")
    layer = None
    if payload.layer_id is not None:
        layer = Layer.objects.filter(pk=payload.layer_id, schedule=schedule).first()
        if layer is None:
            raise ValidationError({"layer_id": f"Schedule {schedule_id} has no layer {payload.layer_id}."})
    layer = services.import_calendar_layer(schedule, actor=actor(request), source_text=payload.calendar,
                                           name=payload.name, level=payload.level, layer=layer, source=SOURCE)
    return Status(201, layer)
