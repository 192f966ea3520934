"""Who is on call, as the rest of Tocsin asks it: for one schedule or all of them, at an
instant or over a window, with people loaded and gaps found. Read-only.

The current shift of someone on call (`current_shifts`) is bounded by the timeline around `at`:
first [at - 1 day, at + 1 day]; where a shift reaches that window's edge, [at - 8 days,
at + 8 days] (a weekly shift fits), then [at - 31 days, at + 31 days]. A bound still beyond
that is None."""

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from tocsin.directory.models import OrgRole, Person, RoleHolding

from . import timeline
from .loading import load_plans
from .models import Participant, Schedule

MAX_WINDOW = timedelta(days=366)
GAP_LOOKAHEAD = timedelta(days=14)
CURRENT_REACH = (timedelta(days=1), timedelta(days=8), timedelta(days=31))


@dataclass
class OnCall:
    """A final entry with its people loaded, for pages and the API."""

    schedule: Schedule
    start: object
    end: object
    person: Person
    assignment: timeline.Assignment
    delegated_from: Person | None = None
    role: OrgRole | None = None


def _check_window(start, end):
    if end <= start:
        raise ValidationError("The end must be after the start.", code="window")
    if end - start > MAX_WINDOW:
        raise ValidationError("A window may span at most 366 days.", code="window")


def _people_by_id(ids):
    return Person.objects.in_bulk(set(ids))


def people_and_roles(assignments, person_ids=()):
    """(person id -> Person, role id -> OrgRole) for everyone `assignments` name (who is on call,
    whom they stand in for, the role that put them there) and `person_ids`; two queries."""
    assignments = list(assignments)
    ids = {a.person_id for a in assignments} | {a.delegated_from for a in assignments} | set(person_ids)
    roles = {a.role_id for a in assignments}
    return Person.objects.in_bulk(ids - {None}), OrgRole.objects.in_bulk(roles - {None})


def _describe(schedule, start, end, assignment, people, roles):
    return OnCall(schedule, start, end, people[assignment.person_id], assignment,
                  people.get(assignment.delegated_from), roles.get(assignment.role_id))


def describe(schedule, found, people, roles):
    """[OnCall] of timeline Shifts `found`, from what people_and_roles loaded."""
    return [_describe(schedule, s.start, s.end, s.assignment, people, roles) for s in found]


def plan_of(schedule, start, end):
    """The timeline Plan of one schedule valid in [start, end], and the People it needs."""
    plans, people = load_plans(Schedule.objects.filter(pk=schedule.pk), start, end)
    return plans[schedule.pk], people


def shifts(schedule, start, end):
    """The final timeline of `schedule` in [start, end): (shifts, gaps), in time order."""
    _check_window(start, end)
    plan, people = plan_of(schedule, start, end)
    return timeline.timeline(plan, start, end, people)


def oncall_at(schedule, at=None):
    """The people on call for `schedule` at `at`, each with the shift that put them there."""
    at = at or timezone.now()
    found = oncall_everywhere(at, Schedule.objects.filter(pk=schedule.pk))
    return found.get(schedule.pk, [])


def oncall_in_plan(schedule, plan, people, at):
    """[OnCall] of `schedule` at `at` from its plan and People loaded already (no shift bounds)."""
    found = timeline.oncall_at(plan, at, people)
    persons, roles = people_and_roles(found)
    return [_describe(schedule, None, None, a, persons, roles) for a in found]


def oncall_everywhere(at=None, schedules=None):
    """schedule id -> [OnCall] at `at`, for every schedule (or those given)."""
    at = at or timezone.now()
    schedules = Schedule.objects.all() if schedules is None else schedules
    plans, people = load_plans(schedules, at, at)
    by_id = {s.pk: s for s in schedules}
    current = {sid: timeline.oncall_at(plan, at, people) for sid, plan in plans.items()}
    persons, roles = people_and_roles(a for found in current.values() for a in found)
    return {sid: [_describe(by_id[sid], None, None, a, persons, roles) for a in found] for sid, found in current.items()}


def _bounds(plan, at, people, now_on):
    """assignment -> (start, end) of its shift holding `at`, widening as the module docstring says."""
    bounds = {}
    for reach in CURRENT_REACH if now_on else ():
        found, _ = timeline.timeline(plan, at - reach, at + reach, people)
        bounds = {s.assignment: (None if s.start <= at - reach else s.start, None if s.end >= at + reach else s.end)
                  for s in found if s.start <= at < s.end}
        if all(None not in bounds.get(a, (None,)) for a in now_on):
            break
    return bounds


def current_shifts(schedules, at):
    """schedule id -> [OnCall] at `at`, each with the bounds of its current final shift (None
    where it lies beyond 31 days; see the module docstring), and layer id -> layer name."""
    widest = CURRENT_REACH[-1]
    plans, people = load_plans(schedules, at - widest, at + widest)
    rows = {}
    for schedule_id, plan in plans.items():
        now_on = timeline.oncall_at(plan, at, people)
        bounds = _bounds(plan, at, people, now_on)
        rows[schedule_id] = [(a, *bounds.get(a, (None, None))) for a in now_on]
    persons, roles = people_and_roles(a for found in rows.values() for a, _, _ in found)
    by_id = {s.pk: s for s in Schedule.objects.filter(pk__in=list(rows))}
    found = {sid: [_describe(by_id[sid], start, end, a, persons, roles) for a, start, end in entries]
             for sid, entries in rows.items()}
    return found, {layer.id: layer.name for plan in plans.values() for layer in plan.layers}


def final_shifts(schedule, start, end):
    """[OnCall] of the final timeline, with people loaded, and the gaps."""
    found, gaps = shifts(schedule, start, end)
    return describe(schedule, found, *people_and_roles(s.assignment for s in found)), gaps


def gaps_ahead(schedules=None, now=None, lookahead=GAP_LOOKAHEAD):
    """schedule id -> [Gap] for the schedules with nobody on call at some time in the next
    `lookahead`. Schedules without gaps are left out."""
    now = now or timezone.now()
    schedules = Schedule.objects.all() if schedules is None else schedules
    plans, people = load_plans(schedules, now, now + lookahead)
    found = {}
    for sid, plan in plans.items():
        _, gaps = timeline.timeline(plan, now, now + lookahead, people)
        if gaps:
            found[sid] = gaps
    return found


def people_on_call(team_ids, start, end):
    """team id -> the people on call at any time in [start, end) on that team's schedules."""
    _check_window(start, end)
    schedules = Schedule.objects.filter(team_id__in=list(team_ids))
    team_of = dict(schedules.values_list("pk", "team_id"))
    plans, people = load_plans(schedules, start, end)
    ids_by_team = {}
    for sid, plan in plans.items():
        found, _ = timeline.timeline(plan, start, end, people)
        ids_by_team.setdefault(team_of[sid], set()).update(s.person_id for s in found)
    persons = _people_by_id({pid for ids in ids_by_team.values() for pid in ids})
    return {team: sorted((persons[pid] for pid in ids), key=lambda p: (p.name, p.pk))
            for team, ids in ids_by_team.items()}


def vacancies_by_schedule(schedules, at=None):
    """schedule id -> why it may page nobody (participants deactivated, roles without an
    active holder), in two queries for any number of schedules. Schedules without problems
    are left out."""
    at = at or timezone.now()
    slots = list(Participant.objects.filter(layer__schedule__in=schedules)
                 .order_by("layer__schedule_id", "-layer__level", "position")
                 .values_list("layer__schedule_id", "layer__name", "person__name", "person__is_active",
                              "role_id", "role__name"))
    role_ids = {slot[4] for slot in slots if slot[4]}
    held = set(RoleHolding.objects.filter(RoleHolding.current(at), role_id__in=role_ids, person__is_active=True)
               .values_list("role_id", flat=True))
    found = {}
    for schedule_id, layer, person, active, role_id, role in slots:
        if person is not None and not active:
            found.setdefault(schedule_id, []).append(f"{layer}: {person} is deactivated")
        elif role_id and role_id not in held:
            found.setdefault(schedule_id, []).append(f"{layer}: role {role} has no active holder")
    return found


def vacancies(schedule, at=None):
    return vacancies_by_schedule(Schedule.objects.filter(pk=schedule.pk), at).get(schedule.pk, [])
