"""Alerts JSON API: a service's integrations (created, re-configured, re-keyed, deleted) and the
alerts that came in. Reading integrations needs `catalog:read`, changing them `catalog:manage` on
the service's owner team (an integration without a service needs reach over every team); reading
alerts needs `incidents:read`, and security alerts are shown only to those who may see them."""

from django.shortcuts import get_object_or_404
from ninja import Query, Router, Status
from ninja.pagination import paginate

from tocsin.catalog.models import Service
from tocsin.core.api_auth import check
from tocsin.core.schemas import ObjectId
from tocsin.core.view_access import actor

from . import services
from .models import Integration
from .schemas import AlertDetailOut, AlertFilters, AlertOut, IntegrationIn, IntegrationKeyOut, IntegrationOut, IntegrationPatch

router = Router(tags=["alerts"])
MANAGE = "catalog:manage"


def _integrations():
    return Integration.objects.select_related("service")


def _manage(request, integration):
    check(request, MANAGE, integration.service.owner_team_id if integration.service else None,
          target=f"alerts.integration:{integration.pk}")


def _user(request):
    user = request.principal.user
    return user if getattr(user, "pk", None) else None


def _with_key(integration, key):
    integration.key = key
    integration.endpoints = services.endpoints(integration.kind, key)
    return integration


# --- integrations -----------------------------------------------------------------------------


@router.post("/services/{service_id}/integrations", response={201: IntegrationKeyOut},
             summary="Add an integration; the answer shows its key once, with where to send")
def create_integration(request, service_id: ObjectId, payload: IntegrationIn):
    check(request, "catalog:read")
    service = get_object_or_404(Service, pk=service_id)
    check(request, MANAGE, service.owner_team_id, target=f"catalog.service:{service.pk}")
    integration, key = services.create_integration(
        service, payload.kind, actor=actor(request), name=payload.name, options=payload.options,
        created_by=_user(request))
    return Status(201, _with_key(integration, key))


@router.get("/services/{service_id}/integrations", response=list[IntegrationOut],
            summary="A service's integrations (keys are never shown, only their first characters)")
@paginate
def list_integrations(request, service_id: ObjectId):
    check(request, "catalog:read")
    service = get_object_or_404(Service, pk=service_id)
    return _integrations().filter(service=service).order_by("name", "id")


@router.get("/integrations/{integration_id}", response=IntegrationOut)
def get_integration(request, integration_id: ObjectId):
    check(request, "catalog:read")
    return get_object_or_404(_integrations(), pk=integration_id)


@router.patch("/integrations/{integration_id}", response=IntegrationOut,
              summary="Rename, re-configure, or switch an integration on or off")
def update_integration(request, integration_id: ObjectId, payload: IntegrationPatch):
    integration = get_object_or_404(_integrations(), pk=integration_id)
    _manage(request, integration)
    changes = payload.dict(exclude_unset=True)
    services.update_integration(integration, actor=actor(request), name=changes.get("name"),
                                options=changes.get("options"), enabled=changes.get("enabled"))
    return integration


@router.delete("/integrations/{integration_id}", response={204: None},
               summary="Delete an integration; its alerts stay")
def delete_integration(request, integration_id: ObjectId):
    integration = get_object_or_404(_integrations(), pk=integration_id)
    _manage(request, integration)
    services.delete_integration(integration, actor=actor(request))
    return Status(204, None)


@router.post("/integrations/{integration_id}/rotate-key", response=IntegrationKeyOut,
             summary="Replace the key; the old one stops working. The answer shows the new key once")
def rotate_key(request, integration_id: ObjectId):
    integration = get_object_or_404(_integrations(), pk=integration_id)
    _manage(request, integration)
    key = services.rotate_key(integration, actor=actor(request))
    return _with_key(integration, key)


# --- alerts -------------------------------------------------------------------------------------


@router.get("/alerts", response=list[AlertOut],
            summary="Alerts, newest first, with what became of each (suppressed ones with their reason)")
@paginate
def list_alerts(request, filters: Query[AlertFilters]):
    check(request, "incidents:read")
    return services.filtered_alerts(request.principal, **filters.dict())


@router.get("/alerts/{alert_id}", response=AlertDetailOut)
def get_alert(request, alert_id: ObjectId):
    check(request, "incidents:read")
    return get_object_or_404(services.visible_alerts(request.principal), pk=alert_id)
