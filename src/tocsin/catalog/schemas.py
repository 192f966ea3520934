"""Shapes of catalogue resources on the JSON API. Durations are minutes, with a humanised twin."""

from datetime import date, datetime
from typing import Annotated

from django.utils import timezone
from ninja import Field
from pydantic import StringConstraints

from tocsin.core.schemas import MAX_ID, Patch, Schema

from .durations import MAX_TEXT, humanise

# A duration is minutes (240) or text with units ("4h", "1d 4h"); null clears it.
Duration = int | Annotated[str, StringConstraints(max_length=MAX_TEXT)] | None


class ServiceRef(Schema):
    id: int
    name: str
    kind: str
    tier: int


class ServiceOut(Schema):
    """Read from a Service with owner_team, owner and sites loaded."""

    id: int
    name: str
    slug: str
    kind: str
    tier: int
    owner_team: str
    owner_id: int | None
    owner_name: str | None
    description: str
    sites: list[str]
    rto_minutes: int | None
    rpo_minutes: int | None
    mtpd_minutes: int | None
    rto: str
    mtpd: str

    @staticmethod
    def resolve_owner_team(service):
        return service.owner_team.slug

    @staticmethod
    def resolve_owner_name(service):
        return service.owner.name if service.owner else None

    @staticmethod
    def resolve_sites(service):
        return sorted(site.slug for site in service.sites.all())

    @staticmethod
    def resolve_rto(service):
        return humanise(service.rto_minutes)

    @staticmethod
    def resolve_mtpd(service):
        return humanise(service.mtpd_minutes)


class ServiceDetailOut(ServiceOut):
    depends_on: list[ServiceRef] = Field(description="What this service needs (for a business service: technical ones)")
    supported_by: list[ServiceRef] = Field(description="For a business service: the technical services under it")
    needed_by: list[ServiceRef] = Field(description="Services that depend on this one")
    warnings: list[str]


class ServiceIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    kind: str = "technical"
    owner_team: str = Field(max_length=120, description="Team slug")
    owner_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="The accountable person")
    tier: int = Field(default=3, description="Criticality: 1 (most critical) to 4")
    description: str = Field(default="", max_length=5000)
    sites: list[str] = Field(default=[], max_length=200, description="Site slugs")


class ServicePatch(Patch):
    _nullable = ("owner_id",)

    name: str | None = Field(default=None, min_length=1, max_length=120)
    kind: str | None = None
    owner_team: str | None = Field(default=None, max_length=120)
    owner_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    tier: int | None = None
    description: str | None = Field(default=None, max_length=5000)
    sites: list[str] | None = Field(default=None, max_length=200)


class DependencyIn(Schema):
    depends_on: int = Field(ge=1, le=MAX_ID, description="Id of the service needed")
    note: str = Field(default="", max_length=200)


class BiaIn(Schema):
    rto: Duration = Field(default=None, description="Recovery time objective: minutes or '4h'")
    rpo: Duration = Field(default=None, description="Recovery point objective")
    mtpd: Duration = Field(default=None, description="Maximum tolerable period of disruption")
    data_sensitivity: str = Field(default="internal", max_length=40)
    impact: dict[str, dict[str, int]] = Field(
        default={}, description="{category: {horizon: 0-4}} for financial, operational, legal-regulatory, "
        "reputational at 1h, 4h, 24h, 72h; {} when not assessed",
    )


class BiaOut(Schema):
    service_id: int
    rto_minutes: int | None
    rpo_minutes: int | None
    mtpd_minutes: int | None
    rto: str
    rpo: str
    mtpd: str
    data_sensitivity: str
    impact: dict[str, dict[str, int]]
    warnings: list[str]


class RegionOut(Schema):
    id: int
    name: str
    slug: str
    description: str


class RegionIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)


class RegionPatch(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=2000)


class SiteOut(Schema):
    id: int
    name: str
    slug: str
    region: str | None
    kind: str
    address: str
    latitude: float | None
    longitude: float | None
    time_zone: str

    @staticmethod
    def resolve_region(site):
        return site.region.slug if site.region else None


class SiteIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    region: str | None = Field(default=None, max_length=120, description="Region slug")
    kind: str = "office"
    address: str = Field(default="", max_length=1000)
    latitude: float | None = None
    longitude: float | None = None
    time_zone: str = Field(default="UTC", max_length=64)


class SitePatch(Patch):
    _nullable = ("region", "latitude", "longitude")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    region: str | None = Field(default=None, max_length=120)
    kind: str | None = None
    address: str | None = Field(default=None, max_length=1000)
    latitude: float | None = None
    longitude: float | None = None
    time_zone: str | None = Field(default=None, max_length=64)


class ExceptionIn(Schema):
    service_id: int = Field(ge=1, le=MAX_ID)
    summary: str = Field(min_length=1, max_length=200, description="The deviation, e.g. 'vendor answers within 4 h only'")
    reason: str = Field(min_length=1, max_length=5000)
    review_on: date
    ack_minutes: Duration = None
    escalate_after_minutes: Duration = None


class ExceptionOut(Schema):
    id: int
    service: ServiceRef
    summary: str
    reason: str
    ack_minutes: int | None
    escalate_after_minutes: int | None
    review_on: date
    status: str
    review_overdue: bool
    requested_by: str | None
    requested_at: datetime
    approved_by: str | None
    approved_at: datetime | None

    @staticmethod
    def resolve_service(exception):
        service = exception.service
        return {"id": service.pk, "name": service.name, "kind": service.kind, "tier": service.tier}

    @staticmethod
    def resolve_review_overdue(exception):
        return exception.overdue(timezone.localdate())

    @staticmethod
    def resolve_requested_by(exception):
        return exception.requested_by.username if exception.requested_by else None

    @staticmethod
    def resolve_approved_by(exception):
        return exception.approved_by.username if exception.approved_by else None


class RecoveryStepOut(Schema):
    position: int
    service: ServiceRef
    rto_minutes: int | None
    rto: str
    waits_for: list[ServiceRef]


class PersonRef(Schema):
    id: int
    name: str


class CriticalServiceOut(Schema):
    service: ServiceRef
    why: str
    rto_minutes: int | None
    owner_team: str
    owner: PersonRef | None
    on_call: list[PersonRef]
    coverage_gap: bool


class CriticalPersonnelOut(Schema):
    rto_minutes: int
    start: datetime
    end: datetime
    services: list[CriticalServiceOut]
