"""Alerts JSON API for suppression: maintenance windows (listed with whether they are on now and
when they next start) and peak-hour rules. Reading needs `catalog:read`; changing needs
`catalog:manage` on the owner team of every service concerned, or on all teams for a rule that
covers every service."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone

from ninja import Router, Status

from tocsin.catalog.models import Service
from tocsin.core.api_auth import check
from tocsin.core.schemas import ObjectId
from tocsin.core.timezones import zone
from tocsin.core.view_access import actor
from tocsin.oncall.wallclock import local, to_utc

from .models import MaintenanceWindow, SuppressionRule
from .schemas_rules import (MaintenanceWindowIn, MaintenanceWindowOut, SuppressionRuleIn, SuppressionRuleOut,
                            SuppressionRulePatch)
from .services_maintenance import create_window, end_window
from .services_suppression import create_suppression_rule, delete_suppression_rule, update_suppression_rule
from .stages.maintenance import Occurrence, occurrence_at, wall_length, wall_schedule

router = Router(tags=["alert rules"])
EVERY_SERVICE = "alerts.suppression_rules:all-services"


def next_occurrence(window, now):
    """The window's first occurrence to start after `now`, or None when none is left."""
    if not window.recurrence:
        return Occurrence(window, window.starts_at, window.ends_at) if window.starts_at > now else None
    tz = zone(window.time_zone)
    schedule = wall_schedule(window.recurrence, local(window.starts_at, tz), window.time_zone)
    wall = schedule.after(local(now, tz))
    # In a fall-back overlap a later wall reading can still be an earlier instant.
    while wall is not None and to_utc(wall, tz) <= now:
        wall = schedule.after(wall)
    if wall is None:
        return None
    return Occurrence(window, to_utc(wall, tz), to_utc(wall + wall_length(window, tz), tz))


def window_timing(window, now):
    """(the occurrence on now or None, the next one or None); a window stored past validation
    counts as off, as the processor treats it."""
    try:
        return occurrence_at(window, now), next_occurrence(window, now)
    except (ValueError, OverflowError, ValidationError):
        return None, None


def _span(occurrence):
    return None if occurrence is None else {"starts_at": occurrence.starts_at, "ends_at": occurrence.ends_at}


def window_out(window, now):
    current, following = window_timing(window, now)
    return {"id": window.pk, "name": window.name, "services": sorted(s.pk for s in window.services.all()),
            "starts_at": window.starts_at, "ends_at": window.ends_at, "time_zone": window.time_zone,
            "recurrence": window.recurrence, "reason": window.reason, "on_now": current is not None,
            "current": _span(current), "next": _span(following)}


def windows_with_timing(include_past=False, now=None):
    """Windows with their services loaded (one query each, whatever the count) and their timing;
    those entirely over are left out unless asked for."""
    now = now or timezone.now()
    windows = MaintenanceWindow.objects.prefetch_related("services").order_by("starts_at", "id")
    found = []
    for window in windows:
        current, following = window_timing(window, now)
        if include_past or current is not None or following is not None:
            found.append((window, current, following))
    return found


def check_services(request, service_ids, *, target):
    """catalog:manage on the owner team of each service; unknown ids are left to the use case.
    With no known service at all (e.g. every one since deleted) only those reaching every team may act."""
    teams = set(Service.objects.filter(pk__in=set(service_ids)).values_list("owner_team_id", flat=True))
    for team in sorted(teams, key=lambda t: (t is None, t or 0)) or [None]:
        check(request, "catalog:manage", team, target=target)


@router.get("/maintenance-windows", response=list[MaintenanceWindowOut],
            summary="Maintenance windows not yet over (all with include_past), with the one on now and the next")
def list_windows(request, include_past: bool = False):
    check(request, "catalog:read")
    now = timezone.now()
    return [window_out(window, now) for window, _, _ in windows_with_timing(include_past, now)]


@router.post("/maintenance-windows", response={201: MaintenanceWindowOut},
             summary="Create a one-off or recurring maintenance window for one or more services")
def create_maintenance_window(request, payload: MaintenanceWindowIn):
    check_services(request, payload.services, target="alerts.maintenance_windows")
    window = create_window(actor=actor(request), name=payload.name, services=payload.services,
                           starts_at=payload.starts_at, ends_at=payload.ends_at, time_zone=payload.time_zone,
                           recurrence=payload.recurrence, reason=payload.reason, created_by=request.user)
    return Status(201, window_out(window, timezone.now()))


@router.post("/maintenance-windows/{window_id}/end", response={200: MaintenanceWindowOut, 204: None},
             summary="End a window now; one not yet begun is cancelled (204)")
def end_maintenance_window(request, window_id: ObjectId):
    window = get_object_or_404(MaintenanceWindow, pk=window_id)
    check_services(request, window.services.values_list("pk", flat=True),
                   target=f"alerts.maintenancewindow:{window.pk}")
    ended = end_window(window, actor=actor(request))
    if ended is None:
        return Status(204, None)
    return Status(200, window_out(ended, timezone.now()))


def rule_out(rule):
    return {"id": rule.pk, "name": rule.name, "service": rule.service_id, "severities": rule.severities,
            "weekdays": rule.weekdays, "start_time": rule.start_time.strftime("%H:%M"),
            "end_time": rule.end_time.strftime("%H:%M"), "time_zone": rule.time_zone, "action": rule.action,
            "enabled": rule.enabled}


def check_rule_scope(request, service_id, *, target):
    """A rule for one service needs catalog:manage on its team; one for every service, on all teams."""
    if service_id is None:
        check(request, "catalog:manage", None, target=EVERY_SERVICE)
        return
    found = list(Service.objects.filter(pk=service_id).values_list("owner_team_id", flat=True))
    if not found:
        raise ValidationError({"service": "Choose an existing service, or none for every service."})
    check(request, "catalog:manage", found[0], target=target)


@router.get("/suppression-rules", response=list[SuppressionRuleOut], summary="Peak-hour suppression rules")
def list_suppression_rules(request):
    check(request, "catalog:read")
    return [rule_out(rule) for rule in SuppressionRule.objects.order_by("name", "id")]


@router.post("/suppression-rules", response={201: SuppressionRuleOut},
             summary="Record only, or hold, alerts of chosen severities in a weekly local-time window")
def create_rule(request, payload: SuppressionRuleIn):
    check_rule_scope(request, payload.service, target="alerts.suppression_rules")
    rule = create_suppression_rule(actor=actor(request), **payload.model_dump())
    return Status(201, rule_out(rule))


@router.get("/suppression-rules/{rule_id}", response=SuppressionRuleOut)
def get_rule(request, rule_id: ObjectId):
    check(request, "catalog:read")
    return rule_out(get_object_or_404(SuppressionRule, pk=rule_id))


@router.patch("/suppression-rules/{rule_id}", response=SuppressionRuleOut, summary="Change some fields of a rule")
def patch_rule(request, rule_id: ObjectId, payload: SuppressionRulePatch):
    rule = get_object_or_404(SuppressionRule, pk=rule_id)
    target = f"alerts.suppressionrule:{rule.pk}"
    check_rule_scope(request, rule.service_id, target=target)
    changes = payload.model_dump(exclude_unset=True)
    # null moves a rule to every service; for the other fields it means "leave as is"
    changes = {k: v for k, v in changes.items() if v is not None or k == "service"}
    if "service" in changes and changes["service"] != rule.service_id:
        check_rule_scope(request, changes["service"], target=target)
    return rule_out(update_suppression_rule(rule, actor=actor(request), **changes))


@router.delete("/suppression-rules/{rule_id}", response={204: None})
def delete_rule(request, rule_id: ObjectId):
    rule = get_object_or_404(SuppressionRule, pk=rule_id)
    check_rule_scope(request, rule.service_id, target=f"alerts.suppressionrule:{rule.pk}")
    delete_suppression_rule(rule, actor=actor(request))
    return Status(204, None)
