"""Loads schedules and the directory facts they need (who is active, who holds which role,
who stands in for whom) in a fixed number of queries, whatever the number of schedules,
and compiles them into timeline Plans for a window of time."""

from collections import defaultdict
from datetime import timedelta
from types import SimpleNamespace

from django.db.models import Q

from tocsin.directory.models import Delegation, Person, RoleHolding
from tocsin.directory.resolution import MAX_DELEGATION_HOPS
from tocsin.core.timezones import zone

from . import calendar_layers
from .models import Layer, Override, Participant, Schedule
from .rotation import Rotation, parse_restrictions, step_of
from .timeline import CompiledLayer, CompiledOverride, Plan


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


# Not `calendar`: its text (up to 1 MiB) is read by calendar_layers only when its parse is not cached.
LAYER_COLUMNS = ("pk", "schedule_id", "level", "name", "rotation", "length", "unit", "handoff_time", "start_date",
                 "end_date", "shift_size", "restrictions", "updated_at", "calendar_people")


def compile_layer(layer, slots, tz, start, end):
    """A CompiledLayer from a layer's row (LAYER_COLUMNS) and its slots in position order."""
    if layer.rotation == Layer.CALENDAR:
        return CompiledLayer(layer.pk, layer.level, layer.name, pieces=calendar_layers.pieces(layer, start, end, tz))
    rotation = Rotation(
        tz=tz, start_date=layer.start_date, handoff=layer.handoff_time,
        step=step_of(layer.rotation, layer.length, layer.unit), shift_size=layer.shift_size, slots=len(slots),
        end_date=layer.end_date, windows=parse_restrictions(layer.restrictions),
    )
    return CompiledLayer(layer.pk, layer.level, layer.name, rotation=rotation, slots=tuple(slots))


def load_plans(schedules, start, end):
    """Plans for `schedules` (a queryset or ids) valid for instants in [start, end], plus the
    People they need. Four queries for the schedules, three for the directory; rows are read
    as tuples, because building model instances was most of the cost for many schedules."""
    if not hasattr(schedules, "model"):
        schedules = Schedule.objects.filter(pk__in=list(schedules))
    upper = end + timedelta(microseconds=1)  # a point query (start == end) still sees what begins then
    zones = list(schedules.values_list("pk", "time_zone"))
    if not zones:
        return {}, load_people(start, upper)
    chosen = schedules.values("pk")
    slots = defaultdict(list)
    for layer_id, person_id, role_id in (Participant.objects.filter(layer__schedule__in=chosen)
                                         .order_by("layer_id", "position")
                                         .values_list("layer_id", "person_id", "role_id")):
        slots[layer_id].append(("person", person_id) if person_id else ("role", role_id))
    layers = defaultdict(list)
    for row in Layer.objects.filter(schedule__in=chosen).order_by("-level").values(*LAYER_COLUMNS):
        layers[row["schedule_id"]].append(SimpleNamespace(**row))
    overrides = defaultdict(list)
    for row in (Override.objects.filter(schedule__in=chosen, starts_at__lt=upper, ends_at__gt=start)
                .order_by("starts_at", "pk")
                .values_list("schedule_id", "pk", "person_id", "replaces_id", "starts_at", "ends_at", "swap_id")):
        overrides[row[0]].append(CompiledOverride(*row[1:]))
    plans, person_ids, role_ids = {}, set(), set()
    for schedule_id, time_zone in zones:
        tz = zone(time_zone)
        compiled = [compile_layer(layer, slots[layer.pk], tz, start, upper) for layer in layers[schedule_id]]
        for layer in compiled:
            for kind, ident in layer.slots:
                (person_ids if kind == "person" else role_ids).add(ident)
            person_ids.update(pid for _, _, pid in layer.pieces)
        person_ids.update(o.person_id for o in overrides[schedule_id])
        plans[schedule_id] = Plan(schedule_id, tz, compiled, list(overrides[schedule_id]))
    return plans, load_people(start, upper, person_ids, role_ids)
