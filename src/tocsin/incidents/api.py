"""Incidents JSON API: the list with filters, one incident with its timeline, reporting one by hand,
and the responders' actions. Reading needs `incidents:read`; acting needs `incidents:respond` on
the owner team of the incident's service, and escalating now needs `escalation:initiate` there."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Status
from ninja.pagination import paginate

from tocsin.catalog.models import Service
from tocsin.core.api_auth import check
from tocsin.core.schemas import MAX_ID, ObjectId
from tocsin.core.view_access import actor
from tocsin.directory.models import OrgRole, Person
from tocsin.oncall.models import Schedule

from . import selectors, services
from .schemas import (
    IncidentDetail,
    IncidentFilter,
    IncidentIn,
    IncidentNumber,
    IncidentOut,
    NoteIn,
    ReassignIn,
    ResolveIn,
    RespondersIn,
    SecurityReviewIn,
    SnoozeIn,
)
from .services.response import MAX_RESPONDER_TARGETS

router = Router(tags=["incidents"])
VIA = "api"


def _detail(request, incident_id):
    """The incident as the API shows it; an unknown id, or one the caller may not see, is a 404."""
    return selectors.incident_detail(request.user, pk=incident_id)


def _incident(request, incident_id, perm="incidents:respond"):
    """The incident, 404 when unknown; 403 unless the caller holds `perm` on its service's team."""
    check(request, "incidents:read")
    incident = get_object_or_404(selectors.visible(request.user).select_related("service"), pk=incident_id)
    check(request, perm, incident.service.owner_team_id, target=f"incidents.incident:{incident.pk}")
    return incident


# --- reading ------------------------------------------------------------------


@router.get("/incidents", response=list[IncidentOut], summary="Incidents, newest first (the open ones by default)")
@paginate
def list_incidents(request, filters: Query[IncidentFilter]):
    check(request, "incidents:read")
    assigned_to = filters.assigned_to
    if assigned_to not in (None, selectors.MINE):
        assigned_to = int(assigned_to)
        if assigned_to > MAX_ID:
            raise ValidationError({"assigned_to": f"A person id is at most {MAX_ID}."})
    return selectors.filtered(
        user=request.user, statuses=filters.status, service=filters.service, urgency=filters.urgency,
        assigned_to=assigned_to, unpaged=filters.unpaged, q=filters.q, created_after=filters.created_after,
        created_before=filters.created_before,
    )


@router.get("/incidents/by-number/{number}", response=IncidentDetail, summary="An incident by its number (#42)")
def get_incident_by_number(request, number: IncidentNumber):
    check(request, "incidents:read")
    return selectors.incident_detail(request.user, number=number)


@router.get("/incidents/{incident_id}", response=IncidentDetail, summary="An incident with its timeline and responders")
def get_incident(request, incident_id: ObjectId):
    check(request, "incidents:read")
    return _detail(request, incident_id)


# --- reporting by hand --------------------------------------------------------


@router.post("/incidents", response={201: IncidentDetail}, summary="Report an incident by hand (a manual report)")
def create_incident(request, payload: IncidentIn):
    check(request, "incidents:read")
    service = Service.objects.filter(pk=payload.service_id).first()
    if service is None:
        raise ValidationError({"service_id": f"Unknown service {payload.service_id}."})
    check(request, "incidents:respond", service.owner_team_id, target=f"catalog.service:{service.pk}")
    incident = services.trigger_incident(
        service, payload.title, actor=actor(request), details=payload.details, urgency=payload.urgency,
        source="manual", created_by=request.user,
    )
    return Status(201, _detail(request, incident.pk))


# --- acting on an incident ----------------------------------------------------


@router.post("/incidents/{incident_id}/acknowledge", response=IncidentDetail)
def acknowledge(request, incident_id: ObjectId):
    services.acknowledge(_incident(request, incident_id), actor=actor(request), via=VIA)
    return _detail(request, incident_id)


@router.post("/incidents/{incident_id}/unacknowledge", response=IncidentDetail,
             summary="Back to triggered: escalation starts over")
def unacknowledge(request, incident_id: ObjectId):
    services.unacknowledge(_incident(request, incident_id), actor=actor(request))
    return _detail(request, incident_id)


@router.post("/incidents/{incident_id}/resolve", response=IncidentDetail)
def resolve(request, incident_id: ObjectId, payload: ResolveIn = None):
    note = payload.note if payload is not None else ""
    services.resolve(_incident(request, incident_id), actor=actor(request), via=VIA, note=note)
    return _detail(request, incident_id)


@router.post("/incidents/{incident_id}/snooze", response=IncidentDetail,
             summary="Acknowledge for a while; it triggers again if still unresolved")
def snooze(request, incident_id: ObjectId, payload: SnoozeIn):
    services.snooze(_incident(request, incident_id), payload.minutes, actor=actor(request))
    return _detail(request, incident_id)


@router.post("/incidents/{incident_id}/reassign", response=IncidentDetail)
def reassign(request, incident_id: ObjectId, payload: ReassignIn):
    incident = _incident(request, incident_id)
    person = Person.objects.filter(pk=payload.person_id).first()
    if person is None:
        raise ValidationError({"person_id": f"Unknown person {payload.person_id}."})
    if not person.is_active:
        raise ValidationError({"person_id": f"{person.name} is deactivated; reassign to an active person."})
    services.reassign(incident, person, actor=actor(request))
    return _detail(request, incident_id)


@router.post("/incidents/{incident_id}/notes", response={201: IncidentDetail})
def add_note(request, incident_id: ObjectId, payload: NoteIn):
    services.add_note(_incident(request, incident_id), payload.text, actor=actor(request))
    return Status(201, _detail(request, incident_id))


@router.post("/incidents/{incident_id}/security-review", response=IncidentDetail,
             summary="Complete the extra review a security incident asks for (breach:manage)")
def security_review(request, incident_id: ObjectId, payload: SecurityReviewIn):
    incident = _incident(request, incident_id, perm="breach:manage")
    services.complete_security_review(incident, actor=actor(request), note=payload.note)
    return _detail(request, incident_id)


@router.post("/incidents/{incident_id}/responders", response=IncidentDetail,
             summary="Page more people, org roles or schedules into the incident")
def add_responders(request, incident_id: ObjectId, payload: RespondersIn):
    incident = _incident(request, incident_id)
    services.add_responders(incident, _targets(payload.targets), actor=actor(request), message=payload.message)
    return _detail(request, incident_id)


@router.post("/incidents/{incident_id}/escalate", response=IncidentDetail, summary="Page the next tier now")
def escalate(request, incident_id: ObjectId):
    services.escalate_now(_incident(request, incident_id, "escalation:initiate"), actor=actor(request), via=VIA)
    return _detail(request, incident_id)


def _targets(items):
    """[{type, id}] as People, OrgRoles and Schedules in the order given; an unknown one is a 400."""
    if len(items) > MAX_RESPONDER_TARGETS:
        raise ValidationError({"targets": f"Page at most {MAX_RESPONDER_TARGETS} targets at once."})
    models = {"person": Person, "role": OrgRole, "schedule": Schedule}
    found = {kind: model.objects.in_bulk({i.id for i in items if i.type == kind}) for kind, model in models.items()}
    targets = []
    for index, item in enumerate(items):
        target = found[item.type].get(item.id)
        if target is None:
            raise ValidationError({"targets": f"targets[{index}]: unknown {item.type} {item.id}."})
        targets.append(target)
    return targets
