"""The alert rules page: maintenance windows, peak-hour rules, routing and inhibition rules, and
(for administrators) outbound webhooks; each listed, created, switched on or off, ended or deleted
through the same use cases as the API."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from tocsin.core.form_errors import apply_errors
from tocsin.core.permissions import ALL_TEAMS, can, teams_for
from tocsin.core.view_access import actor, permission_required, principal, require_for_team

from . import services_rules
from .api_maintenance import windows_with_timing
from .forms_rules import (WEEKDAYS, InhibitionRuleForm, MaintenanceWindowForm, OutboundWebhookForm, RoutingRuleForm,
                          SuppressionRuleForm)
from .matchers import describe_all
from .models import InhibitionRule, MaintenanceWindow, OutboundWebhook, RoutingRule, SuppressionRule
from .services_maintenance import create_window, end_window
from .services_outbound import create_webhook, delete_webhook
from .services_suppression import create_suppression_rule, delete_suppression_rule, update_suppression_rule

PAGE = "alerts-rules"
DAY_NAMES = dict(WEEKDAYS)
FORMS = {"window_form": MaintenanceWindowForm, "peak_form": SuppressionRuleForm, "routing_form": RoutingRuleForm,
         "inhibition_form": InhibitionRuleForm, "webhook_form": OutboundWebhookForm}


def _manages(request, team_id):
    return can(principal(request), "catalog:manage", team_id)


def _require_for_services(request, services):
    # A window left with no service (all deleted since) is for those who reach every team.
    for team in sorted({s.owner_team_id for s in services}, key=lambda t: (t is None, t or 0)) or [None]:
        require_for_team(request, "catalog:manage", team)


def _require_some_reach(request):
    """Refuse early those who may change nothing here, before reading their input."""
    if not teams_for(principal(request), "catalog:manage"):
        require_for_team(request, "catalog:manage", None)


def _windows(request):
    rows = []
    for window, current, following in windows_with_timing():
        services = sorted(window.services.all(), key=lambda s: s.name)
        rows.append({"window": window, "services": services, "current": current, "next": following,
                     "can_end": all(_manages(request, s.owner_team_id) for s in services)})
    return rows


def _peak_rules(request):
    rules = list(SuppressionRule.objects.select_related("service").order_by("name", "id"))
    for rule in rules:
        rule.days = ", ".join(DAY_NAMES[d] for d in rule.weekdays) or "every day"
        rule.can_manage = _manages(request, rule.service.owner_team_id if rule.service else None)
    return rules


def _routing_rules():
    rules = list(RoutingRule.objects.select_related("service").order_by("position", "id"))
    for rule in rules:
        rule.matchers_text = describe_all(rule.matchers) if rule.matchers else ""
    return rules


def _inhibition_rules():
    rules = list(InhibitionRule.objects.order_by("name", "id"))
    for rule in rules:
        rule.source_text, rule.target_text = describe_all(rule.source_matchers), describe_all(rule.target_matchers)
    return rules


def _page(request, *, status=200, **bound):
    who = principal(request)
    is_admin = can(who, "settings:manage")
    context = {name: bound.get(name) or form() for name, form in FORMS.items()}
    context.update({
        "windows": _windows(request), "peak_rules": _peak_rules(request), "routing_rules": _routing_rules(),
        "inhibition_rules": _inhibition_rules(), "is_admin": is_admin,
        "can_manage_some": bool(teams_for(who, "catalog:manage")),
        "can_manage_all": teams_for(who, "catalog:manage") == ALL_TEAMS,
        "webhooks": list(OutboundWebhook.objects.prefetch_related("services").order_by("name", "id"))
        if is_admin else [],
    })
    return render(request, "alerts/rules/page.html", context, status=status)


@permission_required("catalog:read")
def rules_page(request):
    return _page(request)


def _done(request, message, anchor):
    messages.success(request, message)
    response = redirect(PAGE)
    response["Location"] += f"#{anchor}"
    return response


# --- maintenance windows ------------------------------------------------------


@require_POST
@permission_required("catalog:read")
def window_create(request):
    _require_some_reach(request)
    form = MaintenanceWindowForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        _require_for_services(request, data["services"])
        try:
            window = create_window(actor=actor(request), name=data["name"], services=list(data["services"]),
                                   starts_at=data["starts_at"], ends_at=data["ends_at"], time_zone=data["time_zone"],
                                   recurrence=data["recurrence"], reason=data["reason"], created_by=request.user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return _done(request, f"The maintenance window {window.name} is planned.", "maintenance")
    return _page(request, status=400, window_form=form)


@require_POST
@permission_required("catalog:read")
def window_end(request, window_id):
    window = get_object_or_404(MaintenanceWindow, pk=window_id)
    _require_for_services(request, window.services.all())
    try:
        ended = end_window(window, actor=actor(request))
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return redirect(PAGE)
    verb = "cancelled" if ended is None else "ended"
    return _done(request, f"The maintenance window {window.name} is {verb}.", "maintenance")


# --- peak-hour rules ----------------------------------------------------------


def _require_for_rule_scope(request, service):
    # A rule for every service reaches every team's alerts.
    require_for_team(request, "catalog:manage", service.owner_team_id if service else None)


@require_POST
@permission_required("catalog:read")
def peak_create(request):
    _require_some_reach(request)
    form = SuppressionRuleForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        _require_for_rule_scope(request, data["service"])
        try:
            rule = create_suppression_rule(actor=actor(request), **data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return _done(request, f"The peak-hour rule {rule.name} is saved.", "peak-hours")
    return _page(request, status=400, peak_form=form)


@require_POST
@permission_required("catalog:read")
def peak_toggle(request, rule_id):
    rule = get_object_or_404(SuppressionRule.objects.select_related("service"), pk=rule_id)
    _require_for_rule_scope(request, rule.service)
    rule = update_suppression_rule(rule, actor=actor(request), enabled=not rule.enabled)
    return _done(request, f"The peak-hour rule {rule.name} is {'on' if rule.enabled else 'off'}.", "peak-hours")


@require_POST
@permission_required("catalog:read")
def peak_delete(request, rule_id):
    rule = get_object_or_404(SuppressionRule.objects.select_related("service"), pk=rule_id)
    _require_for_rule_scope(request, rule.service)
    delete_suppression_rule(rule, actor=actor(request))
    return _done(request, f"The peak-hour rule {rule.name} is deleted.", "peak-hours")


# --- routing and inhibition rules (global: every team) -----------------------


def _require_global(request):
    require_for_team(request, "catalog:manage", None)


@require_POST
@permission_required("catalog:read")
def routing_create(request):
    _require_global(request)
    form = RoutingRuleForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            rule = services_rules.create_routing_rule(
                actor=actor(request), name=data["name"], service=data["service"], matchers=data["matchers"],
                severities=data["severities"], source_pattern=data["source_pattern"], position=data["position"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return _done(request, f"The routing rule {rule.name} is saved.", "routing")
    return _page(request, status=400, routing_form=form)


@require_POST
@permission_required("catalog:read")
def routing_toggle(request, rule_id):
    _require_global(request)
    rule = get_object_or_404(RoutingRule, pk=rule_id)
    rule = services_rules.update_routing_rule(rule, actor=actor(request), enabled=not rule.enabled)
    return _done(request, f"The routing rule {rule.name} is {'on' if rule.enabled else 'off'}.", "routing")


@require_POST
@permission_required("catalog:read")
def routing_delete(request, rule_id):
    _require_global(request)
    rule = get_object_or_404(RoutingRule, pk=rule_id)
    services_rules.delete_routing_rule(rule, actor=actor(request))
    return _done(request, f"The routing rule {rule.name} is deleted.", "routing")


@require_POST
@permission_required("catalog:read")
def inhibition_create(request):
    _require_global(request)
    form = InhibitionRuleForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            rule = services_rules.create_inhibition_rule(actor=actor(request), **data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return _done(request, f"The inhibition rule {rule.name} is saved.", "inhibition")
    return _page(request, status=400, inhibition_form=form)


@require_POST
@permission_required("catalog:read")
def inhibition_toggle(request, rule_id):
    _require_global(request)
    rule = get_object_or_404(InhibitionRule, pk=rule_id)
    rule = services_rules.update_inhibition_rule(rule, actor=actor(request), enabled=not rule.enabled)
    return _done(request, f"The inhibition rule {rule.name} is {'on' if rule.enabled else 'off'}.", "inhibition")


@require_POST
@permission_required("catalog:read")
def inhibition_delete(request, rule_id):
    _require_global(request)
    rule = get_object_or_404(InhibitionRule, pk=rule_id)
    services_rules.delete_inhibition_rule(rule, actor=actor(request))
    return _done(request, f"The inhibition rule {rule.name} is deleted.", "inhibition")


# --- outbound webhooks (administrators) ---------------------------------------


@require_POST
@permission_required("settings:manage")
def webhook_create(request):
    form = OutboundWebhookForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            webhook, secret = create_webhook(data["name"], data["url"], actor=actor(request), events=data["events"],
                                             services=list(data["services"]), security_only=data["security_only"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            # Shown once: kept by no browser cache or proxy.
            response = render(request, "alerts/rules/webhook_secret.html", {"webhook": webhook, "secret": secret})
            add_never_cache_headers(response)
            return response
    return _page(request, status=400, webhook_form=form)


@require_POST
@permission_required("settings:manage")
def webhook_delete(request, webhook_id):
    webhook = get_object_or_404(OutboundWebhook, pk=webhook_id)
    delete_webhook(webhook, actor=actor(request))
    return _done(request, f"The webhook {webhook.name} is deleted; pending deliveries are cancelled.", "webhooks")

