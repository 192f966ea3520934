"""On-call JSON API: schedules, layers, overrides, swaps, who is on call and the timeline.
Reads need `oncall:read`; writes need `oncall:manage` on the schedule's team (a schedule
without a team needs global reach). A swap may also be asked, answered or withdrawn by the
people it names (swap_rules). Who is on call reports, for each entry, the bounds of the current
final shift, as selectors.current_shifts finds them (null: beyond 31 days)."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Router, Status
from ninja.pagination import paginate

from tocsin.core.api_auth import check
from tocsin.core.models import Team
from tocsin.core.schemas import ObjectId
from tocsin.core.view_access import actor
from tocsin.directory.models import OrgRole, Person

from . import selectors, services, swap_rules
from .api_calendar import router as calendar_router
from .models import Layer, Override, Participant, Schedule, ShiftSwap
from .schemas import (
    InstantQuery,
    LayerIn,
    LayerOut,
    LayerPatch,
    OnCallOut,
    OverrideIn,
    OverrideOut,
    ScheduleDetail,
    ScheduleIn,
    ScheduleOnCall,
    ScheduleOut,
    SchedulePatch,
    SwapIn,
    SwapOut,
    TimelineOut,
    clock,
    entry,
    instant,
)

router = Router(tags=["oncall"])
router.add_router("", calendar_router)
SOURCE = "api"
DEFAULT_TIMELINE = timedelta(days=7)


def _schedules():
    participants = Participant.objects.select_related("person", "role").order_by("position")
    layers = Layer.objects.order_by("-level").prefetch_related(Prefetch("participants", queryset=participants))
    return Schedule.objects.select_related("team").prefetch_related(Prefetch("layers", queryset=layers))


def _layer_out(layer_id):
    participants = Participant.objects.select_related("person", "role").order_by("position")
    return Layer.objects.prefetch_related(Prefetch("participants", queryset=participants)).get(pk=layer_id)


def _manage(request, team_id, schedule=None):
    check(request, "oncall:manage", team_id, target=f"oncall.schedule:{schedule.pk}" if schedule else "oncall")


def _team(slug):
    if slug is None:
        return None
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise ValidationError({"team": f"Unknown team '{slug}'."})
    return team


def _person(person_id, field):
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        raise ValidationError({field: f"Unknown person {person_id}."})
    return person


def _participants(items):
    """[{"person": id} | {"role": id}] as People and OrgRoles, in the order given."""
    people = Person.objects.in_bulk({i.person for i in items if i.person})
    roles = OrgRole.objects.in_bulk({i.role for i in items if i.role})
    found = []
    for index, item in enumerate(items):
        chosen = people.get(item.person) if item.person else roles.get(item.role)
        if chosen is None:
            what = f"person {item.person}" if item.person else f"role {item.role}"
            raise ValidationError({"participants": f"participants[{index}]: unknown {what}."})
        found.append(chosen)
    return found


# --- schedules -------------------------------------------------------------------


@router.get("/schedules", response=list[ScheduleOut], summary="Schedules with their layers")
@paginate
def list_schedules(request):
    check(request, "oncall:read")
    return _schedules().order_by("name", "pk")


@router.post("/schedules", response={201: ScheduleDetail})
def create_schedule(request, payload: ScheduleIn):
    team = _team(payload.team)
    _manage(request, getattr(team, "pk", None))
    schedule = services.create_schedule(actor=actor(request), source=SOURCE, name=payload.name,
                                        time_zone=payload.time_zone, team=team, description=payload.description)
    return Status(201, _detail(schedule.pk))


def _detail(schedule_id):
    schedule = get_object_or_404(_schedules(), pk=schedule_id)
    gaps = selectors.gaps_ahead(Schedule.objects.filter(pk=schedule.pk)).get(schedule.pk, [])
    schedule.gaps_next_14_days = [{"start": g.start, "end": g.end} for g in gaps]
    schedule.vacancies = selectors.vacancies(schedule)
    return schedule


@router.get("/schedules/{schedule_id}", response=ScheduleDetail, summary="A schedule, its gaps ahead and vacancies")
def get_schedule(request, schedule_id: ObjectId):
    check(request, "oncall:read")
    return _detail(schedule_id)


@router.patch("/schedules/{schedule_id}", response=ScheduleDetail)
def update_schedule(request, schedule_id: ObjectId, payload: SchedulePatch):
    schedule = get_object_or_404(Schedule, pk=schedule_id)
    _manage(request, schedule.team_id, schedule)
    changes = payload.dict(exclude_unset=True)
    if "team" in changes:
        changes["team"] = _team(changes["team"])
        _manage(request, getattr(changes["team"], "pk", None), schedule)  # and may take it there
    services.update_schedule(schedule, actor=actor(request), source=SOURCE, **changes)
    return _detail(schedule.pk)


@router.delete("/schedules/{schedule_id}", response={204: None})
def delete_schedule(request, schedule_id: ObjectId):
    schedule = get_object_or_404(Schedule, pk=schedule_id)
    _manage(request, schedule.team_id, schedule)
    services.delete_schedule(schedule, actor=actor(request), source=SOURCE)
    return Status(204, None)


# --- layers ------------------------------------------------------------------------


@router.post("/schedules/{schedule_id}/layers", response={201: LayerOut})
def add_layer(request, schedule_id: ObjectId, payload: LayerIn):
    schedule = get_object_or_404(Schedule, pk=schedule_id)
    _manage(request, schedule.team_id, schedule)
    fields = payload.dict(exclude={"participants", "handoff_time"})
    layer = services.add_layer(schedule, actor=actor(request), source=SOURCE, handoff_time=clock(payload.handoff_time),
                               participants=_participants(payload.participants), **fields)
    return Status(201, _layer_out(layer.pk))


def _layer(schedule_id, layer_id):
    return get_object_or_404(Layer.objects.select_related("schedule"), pk=layer_id, schedule_id=schedule_id)


@router.patch("/schedules/{schedule_id}/layers/{layer_id}", response=LayerOut)
def update_layer(request, schedule_id: ObjectId, layer_id: ObjectId, payload: LayerPatch):
    layer = _layer(schedule_id, layer_id)
    _manage(request, layer.schedule.team_id, layer.schedule)
    fields = payload.dict(exclude_unset=True)
    participants = _participants(payload.participants) if "participants" in fields else None
    fields.pop("participants", None)
    if "handoff_time" in fields:
        fields["handoff_time"] = clock(fields["handoff_time"])
    services.update_layer(layer, actor=actor(request), source=SOURCE, participants=participants, **fields)
    return _layer_out(layer.pk)


@router.delete("/schedules/{schedule_id}/layers/{layer_id}", response={204: None})
def remove_layer(request, schedule_id: ObjectId, layer_id: ObjectId):
    layer = _layer(schedule_id, layer_id)
    _manage(request, layer.schedule.team_id, layer.schedule)
    services.remove_layer(layer, actor=actor(request), source=SOURCE)
    return Status(204, None)


# --- overrides ----------------------------------------------------------------------


@router.get("/schedules/{schedule_id}/overrides", response=list[OverrideOut], summary="Overrides, earliest first")
@paginate
def list_overrides(request, schedule_id: ObjectId):
    check(request, "oncall:read")
    schedule = get_object_or_404(Schedule, pk=schedule_id)
    return Override.objects.filter(schedule=schedule).select_related("person", "replaces").order_by("starts_at", "pk")


@router.post("/schedules/{schedule_id}/overrides", response={201: OverrideOut})
def add_override(request, schedule_id: ObjectId, payload: OverrideIn):
    schedule = get_object_or_404(Schedule, pk=schedule_id)
    _manage(request, schedule.team_id, schedule)
    person = _person(payload.person, "person")
    replaces = _person(payload.replaces, "replaces") if payload.replaces else None
    override = services.add_override(schedule, actor=actor(request), source=SOURCE, person=person, replaces=replaces,
                                     starts_at=payload.starts_at, ends_at=payload.ends_at, reason=payload.reason)
    return Status(201, Override.objects.select_related("person", "replaces").get(pk=override.pk))


@router.delete("/schedules/{schedule_id}/overrides/{override_id}", response={204: None})
def remove_override(request, schedule_id: ObjectId, override_id: ObjectId):
    override = get_object_or_404(Override.objects.select_related("schedule"), pk=override_id, schedule_id=schedule_id)
    _manage(request, override.schedule.team_id, override.schedule)
    services.remove_override(override, actor=actor(request), source=SOURCE)
    return Status(204, None)


# --- swaps ----------------------------------------------------------------------------


def _swaps():
    return ShiftSwap.objects.select_related("schedule", "requester", "counterpart")


def _self_or_manager(request, person, schedule):
    """The person's own user may act for them; anyone else needs oncall:manage on the schedule."""
    user = request.principal.user
    if person.user_id is None or user is None or person.user_id != user.pk:
        _manage(request, schedule.team_id, schedule)


@router.get("/schedules/{schedule_id}/swaps", response=list[SwapOut], summary="Shift swaps, newest first")
@paginate
def list_swaps(request, schedule_id: ObjectId, status: str | None = None):
    check(request, "oncall:read")
    schedule = get_object_or_404(Schedule, pk=schedule_id)
    swaps = _swaps().filter(schedule=schedule)
    if status is not None:
        if status not in dict(ShiftSwap.STATUSES):
            raise ValidationError({"status": f"Unknown status '{status[:40]}': use pending, accepted, declined or cancelled."})
        swaps = swaps.filter(status=status)
    return swaps.order_by("-created_at", "-pk")


@router.post("/schedules/{schedule_id}/swaps", response={201: SwapOut}, summary="Ask someone to take a shift")
def request_swap(request, schedule_id: ObjectId, payload: SwapIn):
    check(request, "oncall:read")
    schedule = get_object_or_404(Schedule, pk=schedule_id)
    requester = _person(payload.requester, "requester")
    counterpart = _person(payload.counterpart, "counterpart")
    _self_or_manager(request, requester, schedule)
    swap = services.request_swap(
        schedule, actor=actor(request), source=SOURCE, requester=requester, counterpart=counterpart,
        starts_at=payload.starts_at, ends_at=payload.ends_at, return_starts_at=payload.return_starts_at,
        return_ends_at=payload.return_ends_at, note=payload.note)
    return Status(201, _swaps().get(pk=swap.pk))


def _answer(request, swap_id, action, decide):
    check(request, "oncall:read")
    swap = get_object_or_404(_swaps(), pk=swap_id)
    if not swap_rules.may_answer(request.principal, swap, action):
        _manage(request, swap.schedule.team_id, swap.schedule)  # the audited 403
    decide(swap, actor=actor(request), source=SOURCE)
    return _swaps().get(pk=swap.pk)


@router.post("/swaps/{swap_id}/accept", response=SwapOut, summary="The counterpart takes the shift")
def accept_swap(request, swap_id: ObjectId):
    return _answer(request, swap_id, "accept", services.accept_swap)


@router.post("/swaps/{swap_id}/decline", response=SwapOut)
def decline_swap(request, swap_id: ObjectId):
    return _answer(request, swap_id, "decline", services.decline_swap)


@router.post("/swaps/{swap_id}/cancel", response=SwapOut,
             summary="The requester, or whoever asked for the swap, withdraws it")
def cancel_swap(request, swap_id: ObjectId):
    return _answer(request, swap_id, "cancel", services.cancel_swap)


# --- who is on call and the timeline ----------------------------------------------------


def _entries(current, layers):
    """schedule id -> the API's entries, from selectors.current_shifts."""
    return {
        schedule_id: [entry(o.person, o.assignment, o.start, o.end, layers=layers, role=o.role,
                            delegated_from=o.delegated_from) for o in found]
        for schedule_id, found in current.items()
    }


@router.get("/schedules/{schedule_id}/oncall", response=list[OnCallOut], summary="Who is on call at `at` (now)")
def oncall(request, schedule_id: ObjectId, at: InstantQuery = None):
    check(request, "oncall:read")
    when = instant(at, "at", default=timezone.now())
    schedule = get_object_or_404(Schedule, pk=schedule_id)
    current, layers = selectors.current_shifts(Schedule.objects.filter(pk=schedule.pk), when)
    return _entries(current, layers).get(schedule.pk, [])


@router.get("/oncall", response=list[ScheduleOnCall], summary="Who is on call at `at` (now) on every schedule")
def oncall_everywhere(request, at: InstantQuery = None):
    check(request, "oncall:read")
    when = instant(at, "at", default=timezone.now())
    schedules = list(Schedule.objects.order_by("name", "pk"))
    current, layers = selectors.current_shifts(Schedule.objects.all(), when)
    entries = _entries(current, layers)
    return [{"schedule": {"id": s.pk, "name": s.name, "slug": s.slug}, "oncall": entries.get(s.pk, [])}
            for s in schedules]


@router.get("/schedules/{schedule_id}/shifts", response=TimelineOut,
            summary="The final shifts and gaps between `start` (now) and `end` (a week later); at most 366 days")
def shifts(request, schedule_id: ObjectId, start: InstantQuery = None, end: InstantQuery = None):
    check(request, "oncall:read")
    begin = instant(start, "start", default=timezone.now())
    finish = instant(end, "end", default=begin + DEFAULT_TIMELINE)
    if finish <= begin:
        raise ValidationError({"end": "The end must be after the start."})
    if finish - begin > selectors.MAX_WINDOW:
        raise ValidationError({"end": "The window may span at most 366 days."})
    schedule = get_object_or_404(Schedule, pk=schedule_id)
    found, gaps = selectors.final_shifts(schedule, begin, finish)
    layers = dict(Layer.objects.filter(schedule=schedule).values_list("pk", "name"))
    return {
        "start": begin, "end": finish,
        "shifts": [entry(s.person, s.assignment, s.start, s.end, layers=layers, role=s.role,
                         delegated_from=s.delegated_from) for s in found],
        "gaps": [{"start": g.start, "end": g.end} for g in gaps],
    }
