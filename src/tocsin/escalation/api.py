"""Escalation JSON API: policies and their versions, which policy pages for a service, and where an
incident's escalation stands. Reads need `oncall:read` (an incident's escalation: `incidents:read`);
changes need `oncall:manage` on the policy's team (a policy without a team needs reach over every
team), and linking a service needs it on the service's owner team."""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from ninja import Router, Status
from ninja.pagination import paginate

from tocsin.catalog.models import Service
from tocsin.core.api_auth import check
from tocsin.core.models import Team
from tocsin.core.schemas import ObjectId
from tocsin.core.view_access import actor
from tocsin.incidents.selectors import visible

from . import selectors, services
from .models import EscalationPolicy, ServicePolicy
from .schemas import (
    IncidentEscalationOut,
    PolicyIn,
    PolicyOut,
    PolicyPatch,
    ServiceEscalationIn,
    ServiceEscalationOut,
    VersionOut,
    refuse_nul,
)

router = Router(tags=["escalation"])
MANAGE = "oncall:manage"


def _manage(request, team_id, policy=None):
    check(request, MANAGE, team_id, target=f"escalation.policy:{policy.pk}" if policy else "escalation")


def _team(team_id):
    if team_id is None:
        return None
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise ValidationError({"team": f"There is no team with id {team_id}."})
    return team


def _policy_out(policy_id):
    return get_object_or_404(selectors.policies(), pk=policy_id)


def _user(request):
    user = request.principal.user
    return user if getattr(user, "pk", None) else None


# --- policies -----------------------------------------------------------------------------


@router.get("/escalation-policies", response=list[PolicyOut], summary="Escalation policies with their current version")
@paginate
def list_policies(request):
    check(request, "oncall:read")
    return selectors.policies()


@router.post("/escalation-policies", response={201: PolicyOut},
             summary="Create a policy; its document is checked completely before anything is saved")
def create_policy(request, payload: PolicyIn):
    team = _team(payload.team)
    _manage(request, getattr(team, "pk", None))
    refuse_nul(payload.spec)
    policy = services.create_policy(payload.name, payload.spec, actor=actor(request), user=_user(request),
                                    reason=payload.reason, description=payload.description, team=team)
    return Status(201, _policy_out(policy.pk))


@router.get("/escalation-policies/{policy_id}", response=PolicyOut)
def get_policy(request, policy_id: ObjectId):
    check(request, "oncall:read")
    return _policy_out(policy_id)


@router.patch("/escalation-policies/{policy_id}", response=PolicyOut,
              summary="Rename or move a policy in place; a changed document is a new version with its reason")
def update_policy(request, policy_id: ObjectId, payload: PolicyPatch):
    policy = get_object_or_404(EscalationPolicy, pk=policy_id)
    _manage(request, policy.team_id, policy)
    changes = payload.dict(exclude_unset=True)
    team = None
    if "team" in changes:
        team = _team(changes["team"])
        _manage(request, getattr(team, "pk", None), policy)  # and may hand it there
    refuse_nul(changes.get("spec"))
    if "spec" in changes and not (changes.get("reason") or "").strip():
        raise ValidationError({"reason": "Say why the tiers or timings change (1 to 2,000 characters)."})
    services.revise_policy(policy, actor=actor(request), user=_user(request), reason=changes.get("reason"),
                           document=changes.get("spec"), name=changes.get("name"),
                           description=changes.get("description"), team=team, change_team="team" in changes)
    return _policy_out(policy.pk)


@router.delete("/escalation-policies/{policy_id}", response={204: None},
               summary="Delete a policy no service pages through and no incident escalated on")
def delete_policy(request, policy_id: ObjectId):
    policy = get_object_or_404(EscalationPolicy, pk=policy_id)
    _manage(request, policy.team_id, policy)
    services.delete_policy(policy, actor=actor(request))
    return Status(204, None)


@router.get("/escalation-policies/{policy_id}/versions", response=list[VersionOut],
            summary="Every version of a policy, newest first, with the reason for each change")
@paginate
def list_versions(request, policy_id: ObjectId):
    check(request, "oncall:read")
    policy = get_object_or_404(EscalationPolicy, pk=policy_id)
    return selectors.versions(policy)


# --- services -------------------------------------------------------------------------------


def _link_out(service):
    link = ServicePolicy.objects.select_related("policy").filter(service=service).first()
    return {"service": service.pk, "policy": link.policy if link else None,
            "ack_timeout_minutes": link.ack_timeout_minutes if link else None}


def _service_to_manage(request, service_id):
    service = get_object_or_404(Service, pk=service_id)
    check(request, MANAGE, service.owner_team_id, target=f"catalog.service:{service.pk}")
    return service


@router.get("/services/{service_id}/escalation", response=ServiceEscalationOut,
            summary="The policy that pages for a service (null: none, the final fallback is paged)")
def get_service_escalation(request, service_id: ObjectId):
    check(request, "oncall:read")
    return _link_out(get_object_or_404(Service, pk=service_id))


@router.put("/services/{service_id}/escalation", response=ServiceEscalationOut,
            summary="Page a service's incidents through a policy")
def link_service(request, service_id: ObjectId, payload: ServiceEscalationIn):
    service = _service_to_manage(request, service_id)
    policy = EscalationPolicy.objects.filter(pk=payload.policy).first()
    if policy is None:
        raise ValidationError({"policy": f"There is no escalation policy with id {payload.policy}."})
    if policy.team_id:  # routing pages to another team's people takes that team's consent too
        check(request, MANAGE, policy.team_id, target=f"escalation.policy:{policy.pk}")
    services.link_service(service, policy, actor=actor(request), ack_timeout_minutes=payload.ack_timeout_minutes)
    return _link_out(service)


@router.delete("/services/{service_id}/escalation", response={204: None},
               summary="Unlink a service's policy: its new incidents page the final fallback")
def unlink_service(request, service_id: ObjectId):
    service = _service_to_manage(request, service_id)
    services.unlink_service(service, actor=actor(request))
    return Status(204, None)


# --- an incident's escalation ------------------------------------------------------------------


@router.get("/incidents/{incident_id}/escalation", response=IncidentEscalationOut,
            summary="Where an incident's escalation stands, and every notification request it made")
def incident_escalation(request, incident_id: ObjectId):
    check(request, "incidents:read")
    incident = get_object_or_404(visible(request.user), pk=incident_id)
    found = selectors.incident_escalation(incident)
    if found is None:
        raise Http404("This incident has no escalation.")
    return {**found, "incident": incident.pk}
