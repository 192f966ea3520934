"""Breach protocol on the JSON API (A8): open, inspect the affected scope, meet obligations, close."""

from datetime import datetime

from django.shortcuts import get_object_or_404
from ninja import Field, Router, Status

from tocsin.core import audit
from tocsin.core.api_auth import check
from tocsin.core.schemas import ObjectId, Schema, UtcDatetime

from .breach_scope import affected
from .models_breach import BreachObligation, SuspectedBreach
from .services import breaches

router = Router(tags=["directory"])


class BreachIn(Schema):
    description: str = Field(min_length=1, max_length=4000)
    window_start: UtcDatetime
    window_end: UtcDatetime
    detected_at: UtcDatetime | None = None
    suspect_actor: str = Field(default="", max_length=150)


class ObligationOut(Schema):
    id: int
    kind: str
    due_at: datetime
    done_at: datetime | None
    overdue: bool
    note: str


class BreachOut(Schema):
    id: int
    description: str
    detected_at: datetime
    window_start: datetime
    window_end: datetime
    suspect_actor: str
    status: str
    obligations: list[ObligationOut]


class BreachDetail(BreachOut):
    affected_people: list[dict]
    reveals: int
    exports: int


class NoteIn(Schema):
    note: str = Field(default="", max_length=4000)


class CloseIn(Schema):
    conclusion: str = Field(min_length=1, max_length=4000)


def _out(breach):
    return {
        "id": breach.pk, "description": breach.description, "detected_at": breach.detected_at,
        "window_start": breach.window_start, "window_end": breach.window_end, "suspect_actor": breach.suspect_actor,
        "status": breach.status, "obligations": list(breach.obligations.all()),
    }


@router.get("", response=list[BreachOut], summary="Suspected breaches of the contact store")
def list_breaches(request):
    check(request, "breach:manage")
    return [_out(b) for b in SuspectedBreach.objects.prefetch_related("obligations")[:200]]


@router.post("", response={201: BreachOut}, summary="Record a suspected breach; obligations get deadlines")
def open_breach(request, payload: BreachIn):
    check(request, "breach:manage")
    breach = breaches.open_breach(
        actor=audit.Actor.of(request.principal), opened_by=request.principal.user, **payload.dict(exclude_none=True)
    )
    return Status(201, _out(breach))


@router.get("/{breach_id}", response=BreachDetail, summary="A breach with the people it may have touched")
def get_breach(request, breach_id: ObjectId):
    check(request, "breach:manage")
    breach = get_object_or_404(SuspectedBreach, pk=breach_id)
    scope = affected(breach)
    breaches.record_scope_view(breach, actor=audit.Actor.of(request.principal), people=len(scope.people))
    return {
        **_out(breach), "reveals": scope.reveals, "exports": len(scope.exports),
        "affected_people": [{"id": p.pk, "name": p.name} for p in scope.people],
    }


@router.post("/{breach_id}/obligations/{obligation_id}/done", response=ObligationOut)
def complete_obligation(request, breach_id: ObjectId, obligation_id: ObjectId, payload: NoteIn):
    check(request, "breach:manage")
    obligation = get_object_or_404(BreachObligation.objects.select_related("breach"), pk=obligation_id, breach_id=breach_id)
    return breaches.complete_obligation(
        obligation, actor=audit.Actor.of(request.principal), done_by=request.principal.user, note=payload.note
    )


@router.post("/{breach_id}/close", response=BreachOut)
def close_breach(request, breach_id: ObjectId, payload: CloseIn):
    check(request, "breach:manage")
    breach = get_object_or_404(SuspectedBreach, pk=breach_id)
    return _out(breaches.close_breach(breach, actor=audit.Actor.of(request.principal), conclusion=payload.conclusion))
