"""Layers generated from an iCal feed: each event (and each occurrence of its RFC 5545
recurrence) is a shift of the person it names. Recurrences without an end are expanded
only inside the window asked for, which is never longer than the one-year horizon."""

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import icalendar
import recurring_ical_events

from .wallclock import to_utc

HORIZON = timedelta(days=366)
EDGE = timedelta(days=1)


def event_key(event):
    """What identifies the person an event is for: the first attendee's address, or else
    the summary, compared without case."""
    attendee = event.get("ATTENDEE")
    if isinstance(attendee, list):
        attendee = attendee[0] if attendee else None
    if attendee:
        address = str(attendee).strip()
        if address.lower().startswith("mailto:"):
            address = address[7:]
        if address:
            return "mailto:" + address.lower()
    return str(event.get("SUMMARY", "")).strip().casefold()


@lru_cache(maxsize=256)
def _parsed(layer_id, version, source):
    return icalendar.Calendar.from_ical(source)


def _instant(value, tz):
    if isinstance(value, datetime):
        if value.tzinfo is None:  # floating time: the schedule's own wall clock
            return to_utc(value, tz)
        return value.astimezone(UTC)
    if isinstance(value, date):
        return to_utc(datetime.combine(value, datetime.min.time()), tz)
    raise ValueError(f"not a date or time: {value!r}")


def occurrences(calendar, start, end, tz):
    """(start, end, event) of every occurrence overlapping [start, end), in UTC."""
    end = min(end, start + HORIZON)
    found = []
    # Floating times and all-day dates are read in `tz` only below; the library compares them
    # with the bounds as if both were UTC wall clocks, so ask it for a day more on each side
    # (no zone is more than 14 hours off UTC) and keep what really overlaps.
    for event in recurring_ical_events.of(calendar).between(start - EDGE, end + EDGE):
        begin = _instant(event["DTSTART"].dt, tz)
        if "DTEND" in event:
            finish = _instant(event["DTEND"].dt, tz)
        elif "DURATION" in event:
            finish = begin + event["DURATION"].dt
        else:
            finish = begin + (timedelta(days=1) if not isinstance(event["DTSTART"].dt, datetime) else timedelta(0))
        if finish > begin and begin < end and finish > start:
            found.append((begin, finish, event))
    found.sort(key=lambda item: (item[0], item[1]))
    return found


def pieces(layer, start, end, tz):
    """The layer's shifts overlapping [start, end) as sorted (start, end, person id)."""
    if not layer.calendar:
        return ()
    version = layer.updated_at.isoformat() if layer.updated_at else ""
    calendar = _parsed(layer.pk, version, layer.calendar)
    people = layer.calendar_people or {}
    result = []
    for begin, finish, event in occurrences(calendar, start, end, tz):
        person_id = people.get(event_key(event))
        if person_id is not None:
            result.append((begin, finish, int(person_id)))
    return tuple(result)
