"""Loads schedules and the directory facts they need (who is active, who holds which role,
who stands in for whom) in a fixed number of queries, whatever the number of schedules,
and compiles them into timeline Plans for a window of time."""

from collections import defaultdict
from datetime import timedelta

from django.db.models import Prefetch, Q

from tocsin.directory.models import Delegation, Person, RoleHolding
from tocsin.directory.resolution import MAX_DELEGATION_HOPS

from . import calendar_layers
from .models import Layer, Override, Participant, Schedule
from .rotation import Rotation, parse_restrictions, step_of
from .timeline import CompiledLayer, CompiledOverride, Plan
from .wallclock import zone


class People:
    """The directory as of a window: activity, role holdings and delegations, in memory."""

    def __init__(self, active, holdings, delegations):
        self._active = active  # set of person ids
        self._holdings = holdings  # role id -> [(start, end or None, person id)] by name
        self._delegations = delegations  # delegator id -> [(start, end, delegate id)] newest first

    def is_active(self, person_id):
        return person_id in self._active

    def holders(self, role_id, instant):
        return [pid for start, end, pid in self._holdings.get(role_id, ())
                if start <= instant and (end is None or instant < end) and pid in self._active]

    def delegate(self, person_id, instant):
        """Follows delegation chains as directory.resolution.delegate_for does."""
        if person_id not in self._delegations:
            return person_id  # the common case: nobody is standing in
        seen = {person_id}
        current = person_id
        for _ in range(MAX_DELEGATION_HOPS):
            nxt = next((d for s, e, d in self._delegations.get(current, ()) if s <= instant < e and d in self._active),
                       None)
            if nxt is None or nxt in seen:
                break
            current = nxt
            seen.add(current)
        return current

    def change_points(self, start, end, role_ids=None):
        """Where holdings (of `role_ids`, or of every role) or any delegation begin or end.
        Every delegation counts, because a chain can run through people off the schedule."""
        points = set()
        for role_id, rows in self._holdings.items():
            if role_ids is None or role_id in role_ids:
                for s, e, _ in rows:
                    points.add(s)
                    if e is not None:
                        points.add(e)
        for rows in self._delegations.values():
            for s, e, _ in rows:
                points.update((s, e))
        return {p for p in points if start < p < end}


def load_people(start, end, person_ids=(), role_ids=()):
    """Three queries: holdings of the roles, delegations overlapping the window, activity."""
    holdings = defaultdict(list)
    rows = (RoleHolding.objects.filter(role_id__in=set(role_ids), starts_at__lt=end)
            .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=start))
            .order_by("role_id", "person__name", "person_id", "starts_at")
            .values_list("role_id", "starts_at", "ends_at", "person_id"))
    everyone = set(person_ids)
    for role_id, s, e, pid in rows:
        holdings[role_id].append((s, e, pid))
        everyone.add(pid)
    delegations = defaultdict(list)
    # Chains reach people who are not participants, so load every delegation in the window.
    for delegator, s, e, delegate in (Delegation.objects.filter(starts_at__lt=end, ends_at__gt=start)
                                      .order_by("-starts_at", "-pk")
                                      .values_list("delegator_id", "starts_at", "ends_at", "delegate_id")):
        delegations[delegator].append((s, e, delegate))
        everyone.update((delegator, delegate))
    active = set(Person.objects.filter(pk__in=everyone, is_active=True).values_list("pk", flat=True))
    return People(active, dict(holdings), dict(delegations))


def compile_layer(layer, tz, start, end):
    slots = tuple(("person", p.person_id) if p.person_id else ("role", p.role_id) for p in layer.participants.all())
    if layer.rotation == Layer.CALENDAR:
        return CompiledLayer(layer.pk, layer.level, layer.name, pieces=calendar_layers.pieces(layer, start, end, tz))
    rotation = Rotation(
        tz=tz, start_date=layer.start_date, handoff=layer.handoff_time,
        step=step_of(layer.rotation, layer.length, layer.unit), shift_size=layer.shift_size, slots=len(slots),
        end_date=layer.end_date, windows=parse_restrictions(layer.restrictions),
    )
    return CompiledLayer(layer.pk, layer.level, layer.name, rotation=rotation, slots=slots)


def load_plans(schedules, start, end):
    """Plans for `schedules` (a queryset or ids) valid for instants in [start, end], plus the
    People they need. Four queries for the schedules, three for the directory."""
    if not hasattr(schedules, "model"):
        schedules = Schedule.objects.filter(pk__in=list(schedules))
    upper = end + timedelta(microseconds=1)  # a point query (start == end) still sees what begins then
    overrides = Override.objects.filter(starts_at__lt=upper, ends_at__gt=start)
    schedules = list(schedules.prefetch_related(
        Prefetch("layers", queryset=Layer.objects.order_by("-level").prefetch_related(
            Prefetch("participants", queryset=Participant.objects.order_by("position")))),
        Prefetch("overrides", queryset=overrides.order_by("starts_at", "pk"), to_attr="window_overrides"),
    ))
    plans, person_ids, role_ids = {}, set(), set()
    for schedule in schedules:
        tz = zone(schedule.time_zone)
        layers = [compile_layer(layer, tz, start, upper) for layer in schedule.layers.all()]
        for layer in layers:
            for kind, ident in layer.slots:
                (person_ids if kind == "person" else role_ids).add(ident)
            person_ids.update(pid for _, _, pid in layer.pieces)
        compiled = [CompiledOverride(o.pk, o.person_id, o.replaces_id, o.starts_at, o.ends_at, o.swap_id)
                    for o in schedule.window_overrides]
        person_ids.update(o.person_id for o in compiled)
        plans[schedule.pk] = Plan(schedule.pk, tz, layers, compiled)
    return plans, load_people(start, upper, person_ids, role_ids)
