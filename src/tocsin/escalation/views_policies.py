"""Building a policy in the browser (the tier builder), changing it (a new version with its reason)
and deleting it."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from tocsin.core.view_access import actor, permission_required, reaches_every_team, require_for_team, teams_in_reach

from . import services
from .forms import PolicyBuilder
from .views import MANAGE, may_create, policy_or_404


def _builder(request, policy=None):
    return PolicyBuilder(request.POST if request.method == "POST" else None,
                         teams=teams_in_reach(request, MANAGE), team_required=not reaches_every_team(request, MANAGE),
                         policy=policy)


def _render(request, builder, policy=None):
    failed = request.method == "POST" and builder.has_errors
    return render(request, "escalation/policy_form.html", {"builder": builder, "form": builder.policy,
                                                           "tiers": builder.tiers, "deadlines": builder.deadlines,
                                                           "policy": policy}, status=400 if failed else 200)


def _user(request):
    return request.user if request.user.is_authenticated else None


@permission_required("oncall:read")
def policy_create(request):
    if not may_create(request):
        require_for_team(request, MANAGE, None)  # the audited 403
    builder = _builder(request)
    if request.method == "POST" and builder.is_valid():
        data = builder.policy.cleaned_data
        require_for_team(request, MANAGE, data["team"])
        document = builder.document()
        try:
            policy = services.create_policy(data["name"], document, actor=actor(request), user=_user(request),
                                            reason=data["reason"] or "Created", description=data["description"],
                                            team=data["team"])
        except ValidationError as exc:
            builder.apply_errors(exc)
        else:
            messages.success(request, f"Policy {policy.name} is created. Link a service to it so its incidents page "
                                      "through it.")
            return redirect("escalation-policy", policy_id=policy.pk)
    return _render(request, builder)


@permission_required("oncall:read")
def policy_edit(request, policy_id):
    policy = policy_or_404(policy_id)
    require_for_team(request, MANAGE, policy.team_id)
    builder = _builder(request, policy)
    if request.method == "POST" and builder.is_valid():
        data = builder.policy.cleaned_data
        require_for_team(request, MANAGE, data["team"])
        document = builder.document()
        before = policy.current_id
        try:
            policy = services.revise_policy(policy, actor=actor(request), user=_user(request), reason=data["reason"],
                                            document=document, name=data["name"], description=data["description"],
                                            team=data["team"], change_team=True)
        except ValidationError as exc:
            builder.apply_errors(exc)
        else:
            if policy.current_id != before:
                messages.success(request, f"Version {policy.current.number} of {policy.name} is saved. Incidents "
                                          "already escalating keep the version they started with.")
            else:
                messages.success(request, f"{policy.name} is saved; its tiers and timings are unchanged.")
            return redirect("escalation-policy", policy_id=policy.pk)
    return _render(request, builder, policy)


@permission_required("oncall:read")
def policy_delete(request, policy_id):
    policy = policy_or_404(policy_id)
    require_for_team(request, MANAGE, policy.team_id)
    problem = None
    if request.method == "POST":
        try:
            services.delete_policy(policy, actor=actor(request))
        except ValidationError as exc:
            problem = " ".join(exc.messages)
        else:
            messages.success(request, f"Policy {policy.name} is deleted.")
            return redirect("escalation-policies")
    return render(request, "escalation/policy_delete.html", {"policy": policy, "problem": problem},
                  status=400 if problem else 200)
