"""Alerts JSON API, the rules side: how a service's alerts become incidents, and the global routing
and inhibition rules. Reading needs `catalog:read`; changing a service's settings needs
`catalog:manage` on its owner team, changing a global rule needs it on all teams."""

from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from tocsin.catalog.models import Service
from tocsin.core.api_auth import check
from tocsin.core.schemas import ObjectId
from tocsin.core.view_access import actor

from . import services_rules
from .matchers import describe_all
from .models import InhibitionRule, RoutingRule, ServiceAlertSettings
from .schemas_rules import (InhibitionRuleIn, InhibitionRuleOut, InhibitionRulePatch, RoutingRuleIn, RoutingRuleOut,
                            RoutingRulePatch)
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
    flood_limit: int | None
    flood_window_minutes: int
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
    flood_limit: int | None = None
    flood_window_minutes: int | None = None
    link_templates: list[LinkTemplate] | None = None


NULLABLE = {"min_occurrences", "occurrence_window_minutes", "open_for_minutes", "baseline_deviations", "flood_limit"}


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


def routing_out(rule):
    return {"id": rule.pk, "position": rule.position, "name": rule.name, "service": rule.service_id,
            "matchers": rule.matchers, "matchers_text": describe_all(rule.matchers), "severities": rule.severities,
            "source_pattern": rule.source_pattern, "enabled": rule.enabled}


def check_routing(request, service_id, *, target):
    """Global rules need catalog:manage on all teams; routing to a service, on its team too."""
    check(request, "catalog:manage", None, target=target)
    if service_id is not None:
        team = Service.objects.filter(pk=service_id).values_list("owner_team_id", flat=True).first()
        if team is not None:
            check(request, "catalog:manage", team, target=target)


def _without_nulls(payload):
    return {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}


@router.get("/routing-rules", response=list[RoutingRuleOut],
            summary="Global routing rules, in the order they are tried")
def list_routing_rules(request):
    check(request, "catalog:read")
    return [routing_out(rule) for rule in RoutingRule.objects.order_by("position", "id")]


@router.post("/routing-rules", response={201: RoutingRuleOut},
             summary="Send matching alerts of integrations bound to no service to a service")
def create_routing_rule(request, payload: RoutingRuleIn):
    check_routing(request, payload.service, target="alerts.routing_rules")
    rule = services_rules.create_routing_rule(actor=actor(request), **payload.model_dump())
    return Status(201, routing_out(rule))


@router.patch("/routing-rules/{rule_id}", response=RoutingRuleOut, summary="Change some fields of a routing rule")
def patch_routing_rule(request, rule_id: ObjectId, payload: RoutingRulePatch):
    rule = get_object_or_404(RoutingRule, pk=rule_id)
    changes = _without_nulls(payload)
    check_routing(request, changes.get("service", rule.service_id), target=f"alerts.routingrule:{rule.pk}")
    return routing_out(services_rules.update_routing_rule(rule, actor=actor(request), **changes))


@router.delete("/routing-rules/{rule_id}", response={204: None})
def delete_routing_rule(request, rule_id: ObjectId):
    rule = get_object_or_404(RoutingRule, pk=rule_id)
    check_routing(request, None, target=f"alerts.routingrule:{rule.pk}")
    services_rules.delete_routing_rule(rule, actor=actor(request))
    return Status(204, None)


def inhibition_out(rule):
    return {"id": rule.pk, "name": rule.name, "source_matchers": rule.source_matchers,
            "target_matchers": rule.target_matchers, "source_text": describe_all(rule.source_matchers),
            "target_text": describe_all(rule.target_matchers), "equal": rule.equal, "enabled": rule.enabled}


@router.get("/inhibition-rules", response=list[InhibitionRuleOut], summary="Alertmanager-style inhibition rules")
def list_inhibition_rules(request):
    check(request, "catalog:read")
    return [inhibition_out(rule) for rule in InhibitionRule.objects.order_by("name", "id")]


@router.post("/inhibition-rules", response={201: InhibitionRuleOut},
             summary="While an open alert matches the source, matching target alerts page nobody")
def create_inhibition_rule(request, payload: InhibitionRuleIn):
    check(request, "catalog:manage", None, target="alerts.inhibition_rules")
    rule = services_rules.create_inhibition_rule(actor=actor(request), **payload.model_dump())
    return Status(201, inhibition_out(rule))


@router.patch("/inhibition-rules/{rule_id}", response=InhibitionRuleOut,
              summary="Change some fields of an inhibition rule")
def patch_inhibition_rule(request, rule_id: ObjectId, payload: InhibitionRulePatch):
    rule = get_object_or_404(InhibitionRule, pk=rule_id)
    check(request, "catalog:manage", None, target=f"alerts.inhibitionrule:{rule.pk}")
    return inhibition_out(services_rules.update_inhibition_rule(rule, actor=actor(request), **_without_nulls(payload)))


@router.delete("/inhibition-rules/{rule_id}", response={204: None})
def delete_inhibition_rule(request, rule_id: ObjectId):
    rule = get_object_or_404(InhibitionRule, pk=rule_id)
    check(request, "catalog:manage", None, target=f"alerts.inhibitionrule:{rule.pk}")
    services_rules.delete_inhibition_rule(rule, actor=actor(request))
    return Status(204, None)
