"""Alerts JSON API, the rules side: how a service's alerts become incidents. Reading needs
`catalog:read`; changing needs `catalog:manage` on the service's owner team."""

from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from tocsin.catalog.models import Service
from tocsin.core.api_auth import check
from tocsin.core.schemas import ObjectId
from tocsin.core.view_access import actor

from .models import ServiceAlertSettings
from .services_settings import update_alert_settings

router = Router(tags=["alert rules"])


class LinkTemplate(Schema):
    text: str = ""
    href: str


class AlertSettingsOut(Schema):
    service: int
    grouping: str
    group_labels: list[str]
    group_window_minutes: int
    resolve_with_alerts: bool
    suppress_dependents: bool
    min_occurrences: int | None
    occurrence_window_minutes: int | None
    open_for_minutes: int | None
    baseline_deviations: float | None
    baseline_window_minutes: int
    link_templates: list[LinkTemplate]


class AlertSettingsPatch(Schema):
    grouping: str | None = None
    group_labels: list[str] | None = None
    group_window_minutes: int | None = None
    resolve_with_alerts: bool | None = None
    suppress_dependents: bool | None = None
    min_occurrences: int | None = None
    occurrence_window_minutes: int | None = None
    open_for_minutes: int | None = None
    baseline_deviations: float | None = None
    baseline_window_minutes: int | None = None
    link_templates: list[LinkTemplate] | None = None


NULLABLE = {"min_occurrences", "occurrence_window_minutes", "open_for_minutes", "baseline_deviations"}


def _settings_out(settings):
    return {"service": settings.service_id, **{name: getattr(settings, name) for name in AlertSettingsPatch.model_fields}}


@router.get("/services/{service_id}/alert-settings", response=AlertSettingsOut,
            summary="How the service's alerts become incidents (defaults when never set)")
def get_alert_settings(request, service_id: ObjectId):
    check(request, "catalog:read")
    service = get_object_or_404(Service, pk=service_id)
    settings = ServiceAlertSettings.objects.filter(service=service).first() or ServiceAlertSettings(service=service)
    return _settings_out(settings)


@router.patch("/services/{service_id}/alert-settings", response=AlertSettingsOut,
              summary="Change grouping, correlation, sustained-degradation or link settings")
def patch_alert_settings(request, service_id: ObjectId, payload: AlertSettingsPatch):
    service = get_object_or_404(Service, pk=service_id)
    check(request, "catalog:manage", service.owner_team_id, target=f"catalog.service:{service.pk}")
    values = payload.model_dump(exclude_unset=True)
    # null clears an optional rule; for the others it means "leave as is"
    values = {k: v for k, v in values.items() if v is not None or k in NULLABLE}
    return _settings_out(update_alert_settings(service, values, actor=actor(request)))
