"""The week and month grids of a schedule page: each layer's own shifts, the overrides and
the final answer, cut into one cell per local day of the schedule's zone."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from . import selectors, timeline
from .wallclock import local, to_utc

MARGIN = timedelta(days=14)


@dataclass
class Day:
    date: date
    start: datetime  # UTC instant of local midnight
    end: datetime

    @property
    def is_weekend(self):
        return self.date.weekday() >= 5


@dataclass
class Piece:
    """One shift, override or gap as it shows in one day's cell."""

    label: str
    start: datetime  # the whole shift, UTC
    end: datetime
    kind: str = "shift"  # shift | override | gap
    note: str = ""
    person_id: int | None = None
    begins: str = ""  # local clock time within the day
    ends: str = ""
    whole_day: bool = False

    @property
    def hours(self):
        return "all day" if self.whole_day else f"{self.begins}–{self.ends}"

    @property
    def query(self):
        """The shift as a query string, to prefill the override and swap forms."""
        return urlencode({"person": self.person_id or "", "start": self.start.isoformat(), "end": self.end.isoformat()})


@dataclass
class Row:
    title: str
    kind: str  # layer | overrides | final
    cells: list = field(default_factory=list)  # one list of Pieces per day
    subtitle: str = ""


@dataclass
class Grid:
    days: list
    rows: list
    gaps: list  # of the final timeline, UTC
    start: datetime
    end: datetime


def days_from(first, count, tz):
    """`count` local days from `first`, each with the UTC instants of its midnights (DST-exact)."""
    edges = [to_utc(datetime.combine(first + timedelta(days=i), time()), tz) for i in range(count + 1)]
    return [Day(first + timedelta(days=i), edges[i], edges[i + 1]) for i in range(count)]


def _clock(instant, tz):
    return local(instant, tz).strftime("%H:%M")


def _cut(pieces, days, tz):
    """Each piece placed in every day it touches, with its local hours inside that day."""
    cells = [[] for _ in days]
    for piece in sorted(pieces, key=lambda p: (p.start, p.label)):
        for index, day in enumerate(days):
            if piece.end <= day.start or piece.start >= day.end:
                continue
            from_start, to_end = piece.start <= day.start, piece.end >= day.end
            cells[index].append(Piece(
                piece.label, piece.start, piece.end, piece.kind, piece.note, piece.person_id,
                begins="00:00" if from_start else _clock(piece.start, tz),
                ends="24:00" if to_end else _clock(piece.end, tz),
                whole_day=from_start and to_end,
            ))
    return cells


def provenance(assignment, *, layer_names, people, roles):
    """Why someone is on call, in words: the layer, an override or a swap, a role, a delegation."""
    if assignment.swap_id:
        source = "swap"
    elif assignment.override_id:
        source = "override"
    else:
        source = layer_names.get(assignment.layer_id, "layer")
    return ", ".join([source, *_reached(assignment, people, roles)])


def _reached(assignment, people, roles):
    """How a rotation slot reached this person: through a role, or standing in for someone."""
    parts = []
    if assignment.role_id and assignment.role_id in roles:
        parts.append(f"via role {roles[assignment.role_id].name}")
    if assignment.delegated_from and assignment.delegated_from in people:
        parts.append(f"standing in for {people[assignment.delegated_from].name}")
    return parts


def describe(entry, layer_names):
    """The provenance of a selectors.OnCall entry, whose people are loaded already."""
    people = {entry.delegated_from.pk: entry.delegated_from} if entry.delegated_from else {}
    roles = {entry.role.pk: entry.role} if entry.role else {}
    return provenance(entry.assignment, layer_names=layer_names, people=people, roles=roles)


def window(days):
    """The instants the grid of `days` computes shifts for: the days and a margin on both sides,
    so that a shift crossing the edge keeps its true start and end (the override and swap
    forms are prefilled with them)."""
    return days[0].start - MARGIN, days[-1].end + MARGIN


def build(schedule, days, tz, plan, people):
    """The grid for `days`, from the schedule's `plan` and `people` loaded for at least
    window(days): one row per layer (its own shifts alone, no overrides), one for the
    overrides, and the final row with its gaps."""
    start, end = window(days)
    layer_names = {layer.id: layer.name for layer in plan.layers}
    per_layer = []
    for layer in plan.layers:
        alone = timeline.Plan(plan.schedule_id, plan.tz, [layer], [])
        per_layer.append((layer, timeline.timeline(alone, start, end, people)[0]))
    overrides = [o for o in plan.overrides if o.start < end and o.end > start]
    shifts, gaps = timeline.timeline(plan, start, end, people)
    persons, roles = selectors.people_and_roles(
        [s.assignment for _, found in per_layer for s in found] + [s.assignment for s in shifts],
        person_ids={o.person_id for o in overrides} | {o.replaces_id for o in overrides})
    final = selectors.describe(schedule, shifts, persons, roles)

    rows = []
    for layer, found in per_layer:
        pieces = [Piece(persons[s.person_id].name, s.start, s.end, person_id=s.person_id,
                        note=", ".join(_reached(s.assignment, persons, roles))) for s in found]
        rows.append(Row(layer.name, "layer", _cut(pieces, days, tz), subtitle=f"level {layer.level}"))
    override_pieces = [
        Piece(persons[o.person_id].name, o.start, o.end, kind="override", person_id=o.person_id,
              note=("swap, " if o.swap_id else "") + (f"for {persons[o.replaces_id].name}" if o.replaces_id
                                                      else "for everyone"))
        for o in overrides
    ]
    rows.append(Row("Overrides", "overrides", _cut(override_pieces, days, tz)))
    final_pieces = [Piece(e.person.name, e.start, e.end, note=describe(e, layer_names), person_id=e.person.pk)
                    for e in final]
    final_pieces += [Piece("Nobody on call", g.start, g.end, kind="gap") for g in gaps]
    rows.append(Row("Final", "final", _cut(final_pieces, days, tz), subtitle="who is paged"))
    shown = [g for g in gaps if g.end > days[0].start and g.start < days[-1].end]
    return Grid(days, rows, shown, days[0].start, days[-1].end)
