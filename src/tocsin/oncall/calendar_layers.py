"""Layers generated from an iCal feed: each event (and each occurrence of its RFC 5545
recurrence) is a shift of the person it names. Recurrences without an end are expanded
only inside the window asked for, which is never longer than the one-year horizon."""

import threading
from collections import OrderedDict
from datetime import UTC, date, datetime, timedelta

import icalendar
import recurring_ical_events

from .models import Layer
from .wallclock import to_utc

HORIZON = timedelta(days=366)
EDGE = timedelta(days=1)
CACHED = 256


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


class _Parses:
    """Parsed calendars by (layer id, updated_at). Every change of a calendar layer moves its
    updated_at, so a key never names two texts; the text (up to 1 MiB) is read from the
    database only on a miss, never with the layer rows every who-is-on-call loads."""

    def __init__(self):
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def get(self, layer_id, version):
        key = (layer_id, version)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        row = Layer.objects.filter(pk=layer_id).values_list("calendar", "updated_at").first()
        if row is None:
            return None  # deleted since its row was read: no shifts
        source, stored = row
        calendar = icalendar.Calendar.from_ical(source) if source else None
        # Changed since its row was read: the newer text serves this read only, uncached, as
        # caching it under the old version would give a stale key the wrong text.
        if stored == version:
            with self._lock:
                self._items[key] = calendar
                while len(self._items) > CACHED:
                    self._items.popitem(last=False)
        return calendar

    def forget(self, layer_id):
        with self._lock:
            for key in [key for key in self._items if key[0] == layer_id]:
                del self._items[key]


_parses = _Parses()


def forget(layer_id):
    """Drops this process's parses of a layer at once; other processes move on by updated_at."""
    _parses.forget(layer_id)


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
    """The shifts of `layer` (a row with pk, updated_at and calendar_people) overlapping
    [start, end) as sorted (start, end, person id)."""
    calendar = _parses.get(layer.pk, layer.updated_at)
    if calendar is None:
        return ()
    people = layer.calendar_people or {}
    result = []
    for begin, finish, event in occurrences(calendar, start, end, tz):
        person_id = people.get(event_key(event))
        if person_id is not None:
            result.append((begin, finish, int(person_id)))
    return tuple(result)
