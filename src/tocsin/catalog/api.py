"""catalog JSON API: services, their dependencies and impact analysis, the recovery order and
critical personnel. Reading needs `catalog:read`; changing a service needs `catalog:manage`
on its owner team (and on the new one when ownership moves)."""

from datetime import timedelta

from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from tocsin.core.api_auth import check
from tocsin.core.schemas import MAX_ID, ObjectId, UtcDatetime
from tocsin.core.view_access import actor

from . import selectors, services
from .api_common import (
    SOURCE,
    person_by_id,
    service_or_404,
    service_ref,
    sites_by_slug,
    team_by_slug,
)
from .api_legacy import router as legacy_router
from .api_sites import router as sites_router
from .checks import bia_warnings
from .durations import MAX_MINUTES, humanise
from .models import Service
from .personnel import critical_personnel
from .recovery import recovery_order
from .schemas import (
    BiaIn,
    BiaOut,
    CriticalPersonnelOut,
    DependencyIn,
    RecoveryStepOut,
    ServiceDetailOut,
    ServiceIn,
    ServiceOut,
    ServicePatch,
)

router = Router(tags=["catalog"])
router.add_router("", sites_router)
router.add_router("", legacy_router)


class ServiceFilter(Schema):
    kind: str | None = Field(default=None, max_length=20)
    team: str | None = Field(default=None, max_length=120, description="Owner team slug")
    tier: int | None = Field(default=None, ge=1, le=4)

    def apply(self, queryset):
        if self.kind:
            queryset = queryset.filter(kind=self.kind)
        if self.team:
            queryset = queryset.filter(owner_team__slug=self.team)
        if self.tier:
            queryset = queryset.filter(tier=self.tier)
        return queryset


def _detail(service_id):
    service = selectors.service_detail(service_id)
    depends_on = [service_ref(edge.depends_on) for edge in service.dependency_edges.all()]
    service.depends_on = depends_on
    # A business service's dependencies are the technical services supporting it.
    service.supported_by = [ref for ref in depends_on if ref["kind"] == Service.TECHNICAL] if service.is_business else []
    service.needed_by = [service_ref(edge.service) for edge in service.dependent_edges.all()]
    service.warnings = [warning.message for warning in bia_warnings(service)]
    return service


# --- services ---------------------------------------------------------------


@router.get("/services", response=list[ServiceOut], summary="Services with owner, tier and RTO/MTPD")
@paginate
def list_services(request, filters: Query[ServiceFilter]):
    check(request, "catalog:read")
    return filters.apply(selectors.services_for_list().prefetch_related("sites"))


@router.post("/services", response={201: ServiceDetailOut})
def create_service(request, payload: ServiceIn):
    check(request, "catalog:read")
    team = team_by_slug(payload.owner_team)
    check(request, "catalog:manage", team, target="catalog.service")
    service = services.create_service(
        actor=actor(request), source=SOURCE, name=payload.name, kind=payload.kind, owner_team=team,
        owner=person_by_id(payload.owner_id), tier=payload.tier, description=payload.description,
        sites=sites_by_slug(payload.sites),
    )
    return Status(201, _detail(service.pk))


@router.get("/services/{service_id}", response=ServiceDetailOut)
def get_service(request, service_id: ObjectId):
    check(request, "catalog:read")
    service_or_404(service_id)
    return _detail(service_id)


@router.patch("/services/{service_id}", response=ServiceDetailOut)
def update_service(request, service_id: ObjectId, payload: ServicePatch):
    service = service_or_404(service_id)
    check(request, "catalog:manage", service.owner_team, target=f"catalog.service:{service.pk}")
    changes = payload.dict(exclude_unset=True)
    if "owner_team" in changes:
        changes["owner_team"] = team_by_slug(changes["owner_team"])
        check(request, "catalog:manage", changes["owner_team"], target=f"catalog.service:{service.pk}")
    if "owner_id" in changes:
        changes["owner"] = person_by_id(changes.pop("owner_id"))
    if "sites" in changes:
        changes["sites"] = sites_by_slug(changes["sites"])
    services.update_service(service, actor=actor(request), source=SOURCE, **changes)
    return _detail(service.pk)


@router.delete("/services/{service_id}", response={204: None}, summary="Delete a service nothing depends on")
def delete_service(request, service_id: ObjectId):
    service = service_or_404(service_id)
    check(request, "catalog:manage", service.owner_team, target=f"catalog.service:{service.pk}")
    services.delete_service(service, actor=actor(request), source=SOURCE)
    return Status(204, None)


# --- dependencies -----------------------------------------------------------


@router.post("/services/{service_id}/dependencies", response={201: ServiceDetailOut},
             summary="Add a dependency; refused when it would close a cycle")
def add_dependency(request, service_id: ObjectId, payload: DependencyIn):
    service = service_or_404(service_id)
    check(request, "catalog:manage", service.owner_team, target=f"catalog.service:{service.pk}")
    depends_on = service_or_404(payload.depends_on)
    services.add_dependency(service, depends_on, actor=actor(request), source=SOURCE, note=payload.note)
    return Status(201, _detail(service.pk))


@router.delete("/services/{service_id}/dependencies/{depends_on_id}", response={204: None})
def remove_dependency(request, service_id: ObjectId, depends_on_id: ObjectId):
    service = service_or_404(service_id)
    check(request, "catalog:manage", service.owner_team, target=f"catalog.service:{service.pk}")
    depends_on = service_or_404(depends_on_id)
    if not services.remove_dependency(service, depends_on, actor=actor(request), source=SOURCE):
        raise HttpError(404, f"{service.name} does not depend on {depends_on.name}.")
    return Status(204, None)


# --- impact analysis --------------------------------------------------------


def _bia_out(service):
    return {
        "service_id": service.pk, "rto_minutes": service.rto_minutes, "rpo_minutes": service.rpo_minutes,
        "mtpd_minutes": service.mtpd_minutes, "rto": humanise(service.rto_minutes),
        "rpo": humanise(service.rpo_minutes), "mtpd": humanise(service.mtpd_minutes),
        "data_sensitivity": service.data_sensitivity, "impact": service.impact or {},
        "warnings": [warning.message for warning in bia_warnings(service)],
    }


@router.get("/services/{service_id}/bia", response=BiaOut, summary="The business impact analysis, with warnings")
def get_bia(request, service_id: ObjectId):
    check(request, "catalog:read")
    return _bia_out(service_or_404(service_id))


@router.put("/services/{service_id}/bia", response=BiaOut,
            summary="Replace the impact analysis; an RTO beyond the MTPD is refused")
def set_bia(request, service_id: ObjectId, payload: BiaIn):
    service = service_or_404(service_id)
    check(request, "catalog:manage", service.owner_team, target=f"catalog.service:{service.pk}")
    services.set_bia(service, actor=actor(request), source=SOURCE, **payload.dict())
    return _bia_out(service)


# --- recovery order and critical personnel ----------------------------------


class RecoveryQuery(Schema):
    down: str = Field(
        max_length=20000, pattern=r"^\d{1,19}(,\d{1,19})*$", description="Comma-separated ids of the services that are down",
    )


@router.get("/recovery-order", response=list[RecoveryStepOut],
            summary="The order to restore the down services: each after what it depends on")
def get_recovery_order(request, query: Query[RecoveryQuery]):
    check(request, "catalog:read")
    ids = {int(part) for part in query.down.split(",")}
    if any(not 1 <= pk <= MAX_ID for pk in ids):
        raise HttpError(404, "Unknown service id.")
    known = set(Service.objects.filter(pk__in=ids).values_list("pk", flat=True))
    missing = sorted(ids - known)
    if missing:
        raise HttpError(404, f"Unknown service id(s): {', '.join(map(str, missing[:10]))}.")
    return [
        {
            "position": step.position, "service": service_ref(step.service), "rto_minutes": step.service.rto_minutes,
            "rto": humanise(step.service.rto_minutes), "waits_for": [service_ref(s) for s in step.waits_for],
        }
        for step in recovery_order(ids)
    ]


class PersonnelQuery(Schema):
    rto_minutes: int = Field(ge=0, le=MAX_MINUTES, description="Services with an RTO of at most this")
    start: UtcDatetime | None = Field(default=None, description="Start of the window; now by default")
    end: UtcDatetime | None = Field(default=None, description="End of the window; 24 hours after the start by default")


@router.get("/critical-personnel", response=CriticalPersonnelOut,
            summary="Who must be reachable for services with RTO ≤ N, with coverage gaps")
def get_critical_personnel(request, query: Query[PersonnelQuery]):
    check(request, "catalog:read")
    start = query.start or timezone.now()
    try:
        end = query.end or start + timedelta(days=1)
    except OverflowError:
        raise HttpError(400, "start: is out of the supported range of dates.") from None
    rows = critical_personnel(query.rto_minutes, start, end)
    return {
        "rto_minutes": query.rto_minutes, "start": start, "end": end,
        "services": [
            {
                "service": service_ref(row.service), "why": row.why, "rto_minutes": row.service.rto_minutes,
                "owner_team": row.service.owner_team.slug,
                "owner": {"id": row.owner.pk, "name": row.owner.name} if row.owner else None,
                "on_call": [{"id": p.pk, "name": p.name} for p in row.on_call], "coverage_gap": row.gap,
            }
            for row in rows
        ],
    }
