"""Final on-call shifts as an RFC 5545 calendar: one event per shift, in UTC, from a week ago to
a year ahead, for one schedule or for one person across every schedule."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Q

from tocsin.directory.models import Delegation, RoleHolding

from . import selectors, timeline
from .loading import load_plans
from .models import Layer, Schedule

PAST = timedelta(days=7)
AHEAD = timedelta(days=366)  # to the end of the day a year from today
# load_plans expands imported calendars at most a horizon (366 days) from a window's start, so
# the window is computed in two halves and the shifts crossing the seam are joined again.
PRODID = "-//Tocsin//On-call schedules//EN"
REFRESH = "PT1H"


@dataclass(frozen=True)
class Entry:
    """One final shift with what the calendar says about it."""

    schedule: Schedule
    start: datetime
    end: datetime
    assignment: timeline.Assignment


def window(now):
    """Whole UTC days, so the first (clipped) shift keeps its start, and its UID, all day."""
    today = datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)
    return today - PAST, today + AHEAD


def _join(first, second, seam):
    """The shifts of [a, seam) and [seam, b) as those of [a, b): a shift cut at the seam is whole again."""
    joined = list(first)
    cut = {shift.assignment: i for i, shift in enumerate(joined) if shift.end == seam}
    for shift in second:
        index = cut.pop(shift.assignment, None) if shift.start == seam else None
        if index is None:
            joined.append(shift)
        else:
            joined[index] = timeline.Shift(joined[index].start, shift.end, shift.assignment)
    return joined


def entries(schedules, start, end, person_id=None):
    """[Entry] of the final shifts of `schedules` in [start, end) (of one person if given), and
    layer id -> layer name."""
    middle = start + (end - start) / 2
    halves, names = {}, {}
    for lower, upper in ((start, middle), (middle, end)):
        plans, people = load_plans(schedules, lower, upper)
        for schedule_id, plan in plans.items():
            found, _ = timeline.timeline(plan, lower, upper, people)
            if person_id is not None:
                found = [s for s in found if s.person_id == person_id]
            halves.setdefault(schedule_id, []).append(found)
            names.update((layer.id, layer.name) for layer in plan.layers)
    by_id = {s.pk: s for s in schedules}
    result = [Entry(by_id[sid], s.start, s.end, s.assignment)
              for sid, parts in halves.items() if len(parts) == 2  # not one created in between
              for s in _join(*parts, middle)]
    result.sort(key=lambda e: (e.start, e.schedule.name, e.assignment.person_id))
    return result, names


def schedules_of(person, start, end):
    """The schedules whose final timeline may name `person` in [start, end). Someone standing
    in for another (a delegation) may appear anywhere that other person does, so then all."""
    if Delegation.objects.filter(delegate=person, starts_at__lt=end, ends_at__gt=start).exists():
        return Schedule.objects.all()
    roles = RoleHolding.objects.filter(person=person, starts_at__lt=end).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=start)).values("role_id")
    return Schedule.objects.filter(
        Q(layers__participants__person=person) | Q(layers__participants__role__in=roles)
        | Q(layers__rotation=Layer.CALENDAR)
        | Q(overrides__person=person, overrides__starts_at__lt=end, overrides__ends_at__gt=start)
    ).distinct()


def _host():
    return urlsplit(settings.BASE_URL).hostname or "tocsin"


def _description(entry, people, roles, layer_names):
    a = entry.assignment
    lines = []
    if a.swap_id:
        lines.append(f"Shift swap #{a.swap_id}")
    elif a.override_id:
        lines.append(f"Override #{a.override_id}")
    elif a.layer_id:
        lines.append(f"Layer: {layer_names.get(a.layer_id, a.layer_id)}")
    if a.role_id and a.role_id in roles:
        lines.append(f"Role: {roles[a.role_id].name}")
    if a.delegated_from and a.delegated_from in people:
        lines.append(f"Delegated from: {people[a.delegated_from].name}")
    return "\n".join(lines)


# Control characters other than line breaks are not allowed in TEXT; names should not carry them.
_CONTROL = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32), 127])


def _text(value):
    """An RFC 5545 TEXT value (3.3.11)."""
    return (value.translate(_CONTROL).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def _fold(line):
    """A content line folded at 75 octets (3.1), never inside a UTF-8 sequence."""
    if len(line) <= 75 and line.isascii():
        return line + "\r\n"
    parts, current, size = [], [], 0
    for char in line:
        width = len(char.encode())
        if size + width > 75:
            parts.append("".join(current))
            current, size = [" "], 1
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n".join(parts) + "\r\n"


def _utc(instant):
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def render(name, found, layer_names, now):
    """The calendar text of [Entry] `found`, called `name`. Written directly rather than through
    icalendar's object model, which took about 1 ms an event: a year of shifts must stay well
    under 200 ms. The tests read every feed back with icalendar."""
    people, roles = selectors.people_and_roles(e.assignment for e in found)
    host = _host()
    stamp = _utc(now)
    lines = ["BEGIN:VCALENDAR", f"PRODID:{PRODID}", "VERSION:2.0", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             f"X-WR-CALNAME:{_text(name)}", f"REFRESH-INTERVAL;VALUE=DURATION:{REFRESH}",
             f"X-PUBLISHED-TTL:{REFRESH}"]
    for entry in found:
        person = people.get(entry.assignment.person_id)
        if person is None:
            continue  # deleted since the timeline was computed
        start = _utc(entry.start)
        lines += ["BEGIN:VEVENT", f"UID:{entry.schedule.pk}-{person.pk}-{start}@{host}", f"DTSTAMP:{stamp}",
                  f"DTSTART:{start}", f"DTEND:{_utc(entry.end)}",
                  f"SUMMARY:{_text(f'On call: {person.name} ({entry.schedule.name})')}"]
        description = _description(entry, people, roles, layer_names)
        if description:
            lines.append(f"DESCRIPTION:{_text(description)}")
        lines += ["TRANSP:TRANSPARENT", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) for line in lines).encode()


def schedule_calendar(schedule, now):
    start, end = window(now)
    found, names = entries(Schedule.objects.filter(pk=schedule.pk), start, end)
    return render(f"{schedule.name} on call", found, names, now)


def person_calendar(person, now):
    start, end = window(now)
    found, names = entries(schedules_of(person, start, end), start, end, person_id=person.pk)
    return render(f"On call: {person.name}", found, names, now)
