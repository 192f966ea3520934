"""Alert pages: a service's integrations (added, re-keyed, deleted; a key is shown once, with how
to send to it) and the filtered list of alerts, suppressed ones with their reason."""

import json
import shlex
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from tocsin.catalog.models import Service
from tocsin.core.form_errors import apply_errors
from tocsin.core.permissions import can
from tocsin.core.view_access import actor, permission_required, principal, require_for_team

from . import services
from .forms import AlertFilterForm, IntegrationForm
from .forms_settings import AlertSettingsForm
from .models import Integration, ServiceAlertSettings
from .services_settings import update_alert_settings

PER_PAGE = 50
SMTP_PORT = 2525
TEST_EVENT = {"summary": "Test alert from the Tocsin setup page", "source": "curl", "severity": "warning"}


def _curl(url, body):
    return f"curl -sS -X POST {shlex.quote(url)} -H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body))}"


def send_example(kind, key, endpoints):
    """A command that sends a first test alert, to paste into a shell."""
    if kind == Integration.EVENTS_V2:
        return _curl(endpoints["events"], {"routing_key": key, "event_action": "trigger", "payload": TEST_EVENT})
    if kind == Integration.ALERTMANAGER:
        return _curl(endpoints["alertmanager"], {
            "version": "4", "status": "firing", "receiver": "tocsin", "groupKey": "{}:{alertname=\"TocsinTest\"}",
            "groupLabels": {"alertname": "TocsinTest"}, "commonLabels": {"alertname": "TocsinTest"},
            "commonAnnotations": {}, "externalURL": "", "truncatedAlerts": 0,
            "alerts": [{"status": "firing", "labels": {"alertname": "TocsinTest", "severity": "warning"},
                        "annotations": {"summary": TEST_EVENT["summary"]}, "startsAt": "2026-01-01T00:00:00Z",
                        "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "0000000000000001"}]})
    if kind == Integration.GRAFANA:
        return _curl(endpoints["grafana"], {
            "receiver": "tocsin", "status": "firing", "orgId": 1, "title": TEST_EVENT["summary"],
            "groupKey": "{}:{alertname=\"TocsinTest\"}", "groupLabels": {"alertname": "TocsinTest"},
            "commonLabels": {"alertname": "TocsinTest"}, "commonAnnotations": {}, "externalURL": "",
            "version": "1", "truncatedAlerts": 0, "state": "alerting", "message": TEST_EVENT["summary"],
            "alerts": [{"status": "firing", "labels": {"alertname": "TocsinTest"},
                        "annotations": {"summary": TEST_EVENT["summary"]}, "startsAt": "2026-01-01T00:00:00Z",
                        "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "0000000000000001"}]})
    if kind == Integration.WEBHOOK:
        return _curl(endpoints["webhook"], TEST_EVENT)
    if kind == Integration.HEARTBEAT:
        return f"curl -fsS {shlex.quote(endpoints['heartbeat'])}"
    if kind == Integration.EMAIL:
        host = urlsplit(settings.BASE_URL).hostname or "localhost"
        return (f"swaks --server {shlex.quote(host)}:{SMTP_PORT} --to {shlex.quote(endpoints['email'])} "
                f"--header {shlex.quote('Subject: ' + TEST_EVENT['summary'])} --body 'Sent by hand.'")
    return ""


def on_options_field(exc):
    """Problems with one option (`options.<name>`) are shown on the form's options field."""
    if not hasattr(exc, "error_dict"):
        return exc
    fields = {}
    for field, errors in exc.error_dict.items():
        name = field.split(".", 1)
        target = "options" if name[0] == "options" else field
        fields.setdefault(target, []).extend(
            f"{name[1]}: {message}" if len(name) > 1 else message for error in errors for message in error.messages)
    return ValidationError(fields)


def _can_manage(request, service):
    return can(principal(request), "catalog:manage", service.owner_team_id)


def _show_key(request, integration, key, *, rotated):
    endpoints = services.endpoints(integration.kind, key)
    context = {"integration": integration, "service": integration.service, "key": key, "endpoints": endpoints,
               "example": send_example(integration.kind, key, endpoints), "rotated": rotated}
    # Shown once: not kept by the browser's cache or any proxy.
    response = render(request, "alerts/integration_key.html", context)
    add_never_cache_headers(response)
    return response


@permission_required("catalog:read")
def service_integrations(request, service_id):
    service = get_object_or_404(Service.objects.select_related("owner_team"), pk=service_id)
    can_manage = _can_manage(request, service)
    form = IntegrationForm(request.POST or None)
    if request.method == "POST":
        require_for_team(request, "catalog:manage", service.owner_team_id)
        if form.is_valid():
            try:
                integration, key = services.create_integration(
                    service, form.cleaned_data["kind"], actor=actor(request), name=form.cleaned_data["name"],
                    options=form.cleaned_data["options"], created_by=request.user)
            except ValidationError as exc:
                apply_errors(form, on_options_field(exc))
            else:
                return _show_key(request, integration, key, rotated=False)
    integrations = list(Integration.objects.filter(service=service).order_by("name", "id"))
    for integration in integrations:
        integration.key_prefix = services.key_prefix(integration)
    context = {"service": service, "integrations": integrations, "form": form, "can_manage": can_manage}
    return render(request, "alerts/integrations.html", context, status=400 if form.errors else 200)


def _integration_to_manage(request, integration_id):
    integration = get_object_or_404(Integration.objects.select_related("service"), pk=integration_id)
    team = integration.service.owner_team_id if integration.service else None
    require_for_team(request, "catalog:manage", team)
    return integration


def _back(integration):
    if integration.service_id:
        return redirect("alerts-service-integrations", service_id=integration.service_id)
    return redirect("alerts")


@require_POST
@permission_required("catalog:read")
def integration_rotate(request, integration_id):
    integration = _integration_to_manage(request, integration_id)
    key = services.rotate_key(integration, actor=actor(request))
    return _show_key(request, integration, key, rotated=True)


@require_POST
@permission_required("catalog:read")
def integration_delete(request, integration_id):
    integration = _integration_to_manage(request, integration_id)
    services.delete_integration(integration, actor=actor(request))
    messages.success(request, f"The integration {integration.name} is deleted; its key no longer works.")
    return _back(integration)


@permission_required("incidents:read")
def alert_list(request):
    form = AlertFilterForm(request.GET)
    valid = form.is_valid()
    alerts = services.filtered_alerts(principal(request), **(form.filters() if valid else {}))
    page = Paginator(alerts, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "alerts/list.html", {"form": form, "page": page}, status=200 if valid else 400)


@permission_required("catalog:read")
def service_alert_settings(request, service_id):
    """How the service's alerts become incidents; changed by the managers of its team."""
    service = get_object_or_404(Service.objects.select_related("owner_team"), pk=service_id)
    current = ServiceAlertSettings.objects.filter(service=service).first() or ServiceAlertSettings(service=service)
    form = AlertSettingsForm.of(current, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        require_for_team(request, "catalog:manage", service.owner_team_id)
        if form.is_valid():
            try:
                update_alert_settings(service, form.values(), actor=actor(request))
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, f"The alert settings of {service.name} are saved.")
                return redirect("alerts-service-settings", service.pk)
    context = {"service": service, "form": form, "can_manage": _can_manage(request, service)}
    return render(request, "alerts/settings.html", context, status=400 if form.errors else 200)
