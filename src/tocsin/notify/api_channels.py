"""Channels JSON API: the chat channels of a service or a team (their team's `catalog:manage` to
change them; URLs masked, secrets write-only)."""

from typing import Annotated, Literal

from django.shortcuts import get_object_or_404
from ninja import Router, Status
from pydantic import Field

from tocsin.catalog.models import Service
from tocsin.core.api_auth import check
from tocsin.core.models import Team
from tocsin.core.schemas import ObjectId, Schema, SlugPath
from tocsin.core.view_access import actor

from . import services_channels
from .models import ServiceChannel
from .schemas import StorableIn

router = Router(tags=["notifications"])

Event = Literal["triggered", "acknowledged", "escalated", "resolved"]


class ChannelIn(StorableIn):
    name: Annotated[str, Field(min_length=1, max_length=services_channels.MAX_NAME)]
    kind: Literal["slack", "teams", "webhook"]
    url: Annotated[str, Field(min_length=1, max_length=services_channels.MAX_URL,
                              description="The webhook URL; stored encrypted and never shown in full again")]
    secret: Annotated[str, Field(max_length=500, description="A signed webhook's HMAC key (write-only)")] = ""
    events: Annotated[list[Event], Field(min_length=1, max_length=4)]
    enabled: bool = True


class ChannelOut(Schema):
    id: int
    name: str
    kind: str
    url: str = Field(description="Masked: enough to recognise it, not to post to it")
    has_secret: bool
    events: list[str]
    enabled: bool
    service: int | None
    team: int | None


def channel_out(c):
    return {"id": c.pk, "name": c.name, "kind": c.kind, "url": services_channels.mask_url(c.url),
            "has_secret": bool(c.secret), "events": c.events, "enabled": c.enabled, "service": c.service_id,
            "team": c.team_id}


@router.get("/services/{service_id}/channels", response=list[ChannelOut], summary="A service's chat channels")
def list_service_channels(request, service_id: ObjectId):
    check(request, "catalog:read")
    service = get_object_or_404(Service, pk=service_id)
    return [channel_out(c) for c in ServiceChannel.objects.filter(service=service)]


@router.post("/services/{service_id}/channels", response={201: ChannelOut},
             summary="Add a chat channel told of the service's incidents")
def add_service_channel(request, service_id: ObjectId, payload: ChannelIn):
    service = get_object_or_404(Service, pk=service_id)
    check(request, "catalog:manage", service.owner_team_id)
    made = services_channels.add_channel(service=service, actor=actor(request), **payload.dict())
    return Status(201, channel_out(made))


@router.get("/teams/{slug}/channels", response=list[ChannelOut], summary="A team's chat channels")
def list_team_channels(request, slug: SlugPath):
    check(request, "catalog:read")
    team = get_object_or_404(Team, slug=slug)
    return [channel_out(c) for c in ServiceChannel.objects.filter(team=team)]


@router.post("/teams/{slug}/channels", response={201: ChannelOut},
             summary="Add a chat channel told of the incidents of every service the team owns")
def add_team_channel(request, slug: SlugPath, payload: ChannelIn):
    team = get_object_or_404(Team, slug=slug)
    check(request, "catalog:manage", team.pk)
    made = services_channels.add_channel(team=team, actor=actor(request), **payload.dict())
    return Status(201, channel_out(made))


@router.delete("/channels/{channel_id}", response={204: None}, summary="Remove a chat channel")
def delete_channel(request, channel_id: ObjectId):
    channel = get_object_or_404(ServiceChannel.objects.select_related("service"), pk=channel_id)
    check(request, "catalog:manage", channel.service.owner_team_id if channel.service_id else channel.team_id)
    services_channels.remove_channel(channel, actor=actor(request))
    return Status(204, None)
