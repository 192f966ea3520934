"""The policy list and a policy's page: its tiers by name, its versions with their reasons, and the
services that page through it (linked and unlinked here)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from tocsin.catalog.models import Service
from tocsin.core.form_errors import apply_errors
from tocsin.core.view_access import actor, permission_required, reaches_every_team, require_for_team, teams_in_reach

from . import selectors, services
from .forms import LinkServiceForm
from .models import EscalationPolicy

MANAGE = "oncall:manage"


def may_create(request):
    return reaches_every_team(request, MANAGE) or teams_in_reach(request, MANAGE).exists()


def may_manage(request, team_id):
    return reaches_every_team(request, MANAGE) or (
        team_id is not None and teams_in_reach(request, MANAGE).filter(pk=team_id).exists())


def manageable_services(request):
    found = Service.objects.select_related("owner_team").order_by("name")
    if reaches_every_team(request, MANAGE):
        return found
    return found.filter(owner_team__in=teams_in_reach(request, MANAGE))


@permission_required("oncall:read")
def policy_list(request):
    rows = []
    for policy in selectors.policies():
        spec = policy.current.spec if policy.current_id else {}
        rows.append({"policy": policy, "tiers": len(spec.get("tiers", [])),
                     "version": policy.current.number if policy.current_id else None,
                     "services": [link.service for link in policy.services.all()]})
    return render(request, "escalation/policies.html", {"rows": rows, "can_create": may_create(request)})


def _page(request, policy, link_form=None, status=200):
    versions = list(selectors.versions(policy))
    everything = [t for version in versions for t in selectors.spec_targets(version.spec)]
    names = selectors.target_names(everything)
    history = []
    for version in versions:
        tiers, fallback = selectors.readable_tiers(version.spec, names)
        history.append({"version": version, "tiers": tiers, "fallback": fallback,
                        "spec": version.spec, "current": version.pk == policy.current_id})
    current = next((entry for entry in history if entry["current"]), None)
    links = list(policy.services.select_related("service__owner_team").order_by("service__name"))
    context = {
        "policy": policy, "current": current, "history": history,
        "links": links,
        "can_edit": may_manage(request, policy.team_id),
        "link_form": link_form or LinkServiceForm(services=manageable_services(request)),
    }
    return render(request, "escalation/policy.html", context, status=status)


def policy_or_404(policy_id):
    return get_object_or_404(EscalationPolicy.objects.select_related("team", "current"), pk=policy_id)


@permission_required("oncall:read")
def policy_detail(request, policy_id):
    return _page(request, policy_or_404(policy_id))


@require_POST
@permission_required("oncall:read")
def service_link(request, policy_id):
    policy = policy_or_404(policy_id)
    form = LinkServiceForm(request.POST, services=manageable_services(request))
    if not form.is_valid():
        return _page(request, policy, form, status=400)
    service = form.cleaned_data["service"]
    require_for_team(request, MANAGE, service.owner_team_id)
    if policy.team_id:  # routing pages to another team's people takes that team's consent too
        require_for_team(request, MANAGE, policy.team_id)
    try:
        services.link_service(service, policy, actor=actor(request),
                              ack_timeout_minutes=form.cleaned_data["ack_timeout_minutes"])
    except ValidationError as exc:
        apply_errors(form, exc)
        return _page(request, policy, form, status=400)
    messages.success(request, f"{service.name} now pages through {policy.name}.")
    return redirect("escalation-policy", policy_id=policy.pk)


@require_POST
@permission_required("oncall:read")
def service_unlink(request, policy_id, service_id):
    policy = policy_or_404(policy_id)
    service = get_object_or_404(Service, pk=service_id, escalation_link__policy=policy)
    require_for_team(request, MANAGE, service.owner_team_id)
    services.unlink_service(service, actor=actor(request))
    messages.success(request, f"{service.name} no longer pages through {policy.name}: its new incidents page the "
                              "final fallback until another policy is linked.")
    return redirect("escalation-policy", policy_id=policy.pk)
