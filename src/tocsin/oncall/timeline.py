"""Who is on call: a schedule's layers, overrides and the directory's delegations composed
into the final answer, with the provenance of every entry. Pure: it works on a compiled
`Plan` and a `People` view of the directory, both built by loading.py, and takes times as
parameters, so tests drive it with any clock.

The rule at an instant t:
1. The highest layer that has a shift at t and reaches someone decides. A shift whose
   participants resolve to nobody (a vacant role, a deactivated person) lets the layer
   below answer, so paging still finds someone; schedule problems list the vacancy.
2. Overrides that replace one person substitute the override's person for them.
3. Overrides for the whole schedule replace everybody.
4. Whoever is on leave with a delegate is represented by the delegate.

The timeline is the same rule evaluated on every interval between two instants where any
input may change, so `oncall_at(t)` and `shifts()` can never disagree."""

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

_FOREVER = datetime.max.replace(tzinfo=UTC)


class Assignment(NamedTuple):
    """One person on call, and what put them there."""

    person_id: int
    layer_id: int | None = None
    override_id: int | None = None
    swap_id: int | None = None
    role_id: int | None = None  # reached through this organisational role
    delegated_from: int | None = None  # stands in for this person (a directory delegation)

    @property
    def source(self):
        if self.swap_id:
            return "swap"
        if self.override_id:
            return "override"
        if self.layer_id:
            return "layer"
        return "unknown"


@dataclass(frozen=True)
class Shift:
    start: datetime
    end: datetime
    assignment: Assignment

    @property
    def person_id(self):
        return self.assignment.person_id


@dataclass(frozen=True)
class Gap:
    start: datetime
    end: datetime


def _covering(items, starts, longest, instant, interval):
    """The items whose [start, end) holds `instant`, from `items` sorted by start: only those
    that started within the longest duration before it can, so bisect and walk back."""
    found = []
    index = bisect_right(starts, instant)
    earliest = instant - longest
    while index > 0:
        index -= 1
        begin, finish = interval(items[index])
        if begin < earliest:
            break
        if finish > instant:
            found.append(items[index])
    return found


@dataclass
class CompiledLayer:
    id: int
    level: int
    name: str
    rotation: object = None  # rotation.Rotation for rotations
    slots: tuple = ()  # ("person", id) or ("role", id), by position
    pieces: tuple = ()  # calendar layers: sorted (start, end, person_id)

    def __post_init__(self):
        self._boundaries = {}  # (start, end) -> instants, asked twice per timeline
        self._starts = [begin for begin, _, _ in self.pieces]
        self._longest = max((end - begin for begin, end, _ in self.pieces), default=timedelta(0))
        self._mine = {ident: Assignment(ident, layer_id=self.id) for kind, ident in self.slots if kind == "person"}

    def people_at(self, instant, people, wall=None, fold=None):
        """The assignments this layer gives at `instant`: None where it has no shift."""
        if self.rotation is not None:
            k = self.rotation.on_duty(instant, wall, fold)
            return None if k is None else self.holding(k, instant, people)
        covering = _covering(self.pieces, self._starts, self._longest, instant, lambda piece: piece[:2])
        taken = sorted((Assignment(pid, layer_id=self.id) for _, _, pid in covering if people.is_active(pid)),
                       key=lambda a: a.person_id)
        return taken if taken else None

    def holding(self, k, instant, people):
        """The assignments of rotation shift k at `instant` (role slots resolve then)."""
        taken = []
        for position in self.rotation.positions(k):
            kind, ident = self.slots[position]
            if kind == "person":
                if people.is_active(ident):
                    taken.append(self._mine[ident])
            else:
                taken.extend(Assignment(pid, layer_id=self.id, role_id=ident) for pid in people.holders(ident, instant))
        return taken

    @property
    def has_roles(self):
        return any(kind == "role" for kind, _ in self.slots)

    def boundaries(self, start, end):
        key = (start, end)
        if key not in self._boundaries:
            if self.rotation is not None:
                self._boundaries[key] = frozenset(self.rotation.boundaries(start, end))
            else:
                self._boundaries[key] = frozenset(
                    p for begin, finish, _ in self.pieces for p in (begin, finish) if start < p < end)
        return self._boundaries[key]


@dataclass(frozen=True)
class CompiledOverride:
    id: int
    person_id: int
    replaces_id: int | None
    start: datetime
    end: datetime
    swap_id: int | None = None

    def assignment(self):
        return Assignment(self.person_id, override_id=self.id, swap_id=self.swap_id)


@dataclass
class Plan:
    """A schedule made ready for computation: layers highest first, overrides by start."""

    schedule_id: int
    tz: object
    layers: list = field(default_factory=list)
    overrides: list = field(default_factory=list)

    def __post_init__(self):
        self.layers.sort(key=lambda layer: -layer.level)
        self.overrides.sort(key=lambda o: (o.start, o.id))
        self._override_starts = [o.start for o in self.overrides]
        self._longest_override = max((o.end - o.start for o in self.overrides), default=timedelta(0))

    def _overrides_at(self, instant):
        found = _covering(self.overrides, self._override_starts, self._longest_override, instant,
                          lambda o: (o.start, o.end))
        found.sort(key=lambda o: (o.start, o.id))
        return found


def oncall_at(plan, instant, people):
    """The final assignments at `instant`, ordered by person id; empty when nobody is on call."""
    reading = instant.astimezone(plan.tz)
    wall, fold = datetime.combine(reading.date(), reading.time()), reading.fold
    return _compose(plan, instant, people, (layer.people_at(instant, people, wall, fold) for layer in plan.layers))


def _compose(plan, instant, people, answers):
    """Steps 1–4 of the module rule, given each layer's answer (highest layer first)."""
    chosen = []
    for taken in answers:
        if taken:
            chosen = taken
            break
    overrides = plan._overrides_at(instant) if plan.overrides else ()
    if overrides:
        whole = [o for o in overrides if o.replaces_id is None and people.is_active(o.person_id)]
        if whole:
            chosen = [o.assignment() for o in whole]
        else:
            for override in overrides:
                if not people.is_active(override.person_id):
                    continue
                chosen = [override.assignment() if a.person_id == override.replaces_id else a for a in chosen]
    if len(chosen) == 1 and people.delegate(chosen[0].person_id, instant) == chosen[0].person_id:
        return chosen
    final = {}
    for item in chosen:
        stand_in = people.delegate(item.person_id, instant)
        if stand_in != item.person_id:
            item = item._replace(person_id=stand_in, delegated_from=item.person_id)
        final.setdefault(item.person_id, item)
    return [final[pid] for pid in sorted(final)]


class _LayerCursor:
    """A layer's answer along a timeline, recomputed only where that layer can change: at its
    own boundaries, or where a role it names changes holder."""

    def __init__(self, layer, start, end, role_points):
        points = layer.boundaries(start, end)
        if layer.has_roles:
            points = points | role_points
        self.layer = layer
        self.points = sorted(points)
        self.next = 0
        self.valid_until = None  # nothing computed yet
        self.answer = None
        self.k = None
        self.w = 0
        self.openings = layer.rotation.openings(start, end) if layer.rotation is not None and layer.rotation.windows \
            else None

    def at(self, instant, people):
        """Instants must come in increasing order."""
        if self.valid_until is None or instant >= self.valid_until:
            while self.next < len(self.points) and self.points[self.next] <= instant:
                self.next += 1
            self.valid_until = self.points[self.next] if self.next < len(self.points) else _FOREVER
            rotation = self.layer.rotation
            self.answer = (self._walk(rotation, instant, people) if rotation is not None
                           else self.layer.people_at(instant, people))
        return self.answer

    def _walk(self, rotation, instant, people):
        """What people_at would answer, found by stepping forward through the shifts and the
        restriction windows rather than reading the clock at every boundary."""
        if instant < rotation.starts or (rotation.ends is not None and instant >= rotation.ends):
            return None
        if self.k is None:
            self.k = rotation.index_at(instant)
        while rotation.boundary(self.k + 1) <= instant:
            self.k += 1
        if self.openings is not None:
            while self.w < len(self.openings) and self.openings[self.w][1] <= instant:
                self.w += 1
            if self.w == len(self.openings) or self.openings[self.w][0] > instant:
                return None
        return self.layer.holding(self.k, instant, people)


def _role_ids(plan):
    return {ident for layer in plan.layers for kind, ident in layer.slots if kind == "role"}


def change_points(plan, start, end, people, directory_points=None):
    """Every instant in (start, end) where the answer may change."""
    points = set()
    for layer in plan.layers:
        points |= layer.boundaries(start, end)
    for override in plan.overrides:
        if override.start < end and override.end > start:
            points.update((override.start, override.end))
    if directory_points is None:
        directory_points = people.change_points(start, end, _role_ids(plan))
    points |= directory_points
    return sorted(p for p in points if start < p < end)


def timeline(plan, start, end, people):
    """The final shifts and the gaps between `start` and `end`, both in time order. A person's
    consecutive intervals with the same provenance are one shift."""
    shifts, gaps = [], []
    open_since = {}
    gap_since = None
    role_points = people.change_points(start, end, _role_ids(plan))
    edges = [start, *change_points(plan, start, end, people, role_points), end]
    cursors = [_LayerCursor(layer, start, end, role_points) for layer in plan.layers]
    previous = None
    for begin in edges[:-1]:
        answer = _compose(plan, begin, people, (cursor.at(begin, people) for cursor in cursors))
        if answer == previous:
            continue  # most change points change nothing for this schedule
        previous = answer
        current = set(answer)
        for item in list(open_since):
            if item not in current:
                shifts.append(Shift(open_since.pop(item), begin, item))
        for item in current:
            open_since.setdefault(item, begin)
        if not current and gap_since is None:
            gap_since = begin
        elif current and gap_since is not None:
            gaps.append(Gap(gap_since, begin))
            gap_since = None
    shifts.extend(Shift(since, end, item) for item, since in open_since.items())
    if gap_since is not None:
        gaps.append(Gap(gap_since, end))
    shifts.sort(key=lambda s: (s.start, s.person_id, s.end))
    return shifts, gaps
