"""HR sync over the JSON API: pending conflicts (values masked), their resolution, and the import runs."""

from datetime import datetime
from typing import Literal

from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.pagination import paginate

from tocsin.core import audit, mfa
from tocsin.core.permissions import require, teams_for
from tocsin.core.schemas import ObjectId

from .models import SyncConflict
from .hr_plan import show
from .selectors_sync import pending_conflicts, recent_runs
from .services import hr_import
from .views import can_edit

router = Router(tags=["directory"])


class ConflictOut(Schema):
    """A pending conflict as the conflicts page shows it: contact values masked (hr_plan.show)."""

    id: int
    person_id: int
    person: str
    person_active: bool
    source: str
    field: str
    kind: str
    why: str
    local_source: str
    local: str
    hr: str
    detected_at: datetime
    run_id: int | None

    @staticmethod
    def resolve_person(obj):
        return obj.person.name

    @staticmethod
    def resolve_person_active(obj):
        return obj.person.is_active

    @staticmethod
    def resolve_why(obj):
        return obj.get_kind_display()

    @staticmethod
    def resolve_local(obj):
        return show(obj.field, obj.local_value)

    @staticmethod
    def resolve_hr(obj):
        return show(obj.field, obj.hr_value)


class ResolveIn(Schema):
    choice: Literal["keep_local", "take_hr"]


class ResolvedOut(Schema):
    id: int
    status: str
    resolved_at: datetime | None


class RunOut(Schema):
    id: int
    source: str
    via: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict
    problem: str


def _reach(request):
    """The teams (or ALL_TEAMS) whose people the caller may change; a token needs the explicit
    contacts:write scope (see core.permissions). Refuses, audited, when there are none."""
    reach = teams_for(request.principal, "contacts:write")
    if not reach:
        require(request.principal, "contacts:write", target="directory/sync")
    return reach


@router.get("/conflicts", response=list[ConflictOut], summary="Pending conflicts of the people one may change")
@paginate
def list_conflicts(request):
    return pending_conflicts(_reach(request))  # sliced by the paginator, then shown through ConflictOut


@router.post("/conflicts/{conflict_id}/resolve", response=ResolvedOut, summary="Keep the local value or take HR's")
def resolve_conflict(request, conflict_id: ObjectId, payload: ResolveIn):
    conflict = get_object_or_404(SyncConflict.objects.select_related("person"), pk=conflict_id)
    principal = request.principal
    if not can_edit(principal, conflict.person):
        teams = list(conflict.person.teams.all())
        require(principal, "contacts:write", teams[0] if teams else None, target=f"sync-conflict:{conflict.pk}")
    if principal.token is None and not mfa.is_fresh(request):
        raise HttpError(403, "A fresh MFA step-up is required to change contact details.")
    conflict = hr_import.resolve_conflict(conflict, payload.choice, actor=audit.Actor.of(principal))
    return {"id": conflict.pk, "status": conflict.status, "resolved_at": conflict.resolved_at}


@router.get("/runs", response=list[RunOut], summary="HR imports, newest first (counts only)")
@paginate
def list_runs(request):
    _reach(request)
    return recent_runs()
