"""Checks an uploaded RFC 5545 calendar for an imported layer: its structure line by line, the
person every event names, and that its recurrences expand, saying precisely what is wrong.
An ATTENDEE address is matched only against login e-mails, never against contact methods:
contact values are need-to-know (contacts:reveal, audited), and an import must not let a
schedule manager test whether an address is someone's contact e-mail."""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import islice

import icalendar
import recurring_ical_events
from django.core.exceptions import ValidationError
from django.utils import timezone
from icalendar.parser import Contentline

from tocsin.core.crypto import blind_index
from tocsin.core.models import User
from tocsin.directory.models import Person

from .calendar_layers import EDGE, HORIZON, event_key, occurrences
from .wallclock import to_utc

MAX_BYTES = 1024 * 1024
MAX_EVENTS = 10_000
# Shifts in the year ahead: every read expands them again, so a flood would make every read slow.
MAX_OCCURRENCES = 10_000
# The expansion walks every step from DTSTART on, so a rule this frequent started long ago takes minutes.
TOO_FREQUENT = {"SECONDLY", "MINUTELY"}
LISTED = 10
QUERY_CHUNK = 500
_LINE_BREAK = re.compile(r"\r\n|\n|\r")
# Errors the parsers raise on input they cannot make sense of.
PARSE_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError, ArithmeticError)


@dataclass
class Checked:
    """A calendar that can be stored: the parsed form and who each event key names."""

    calendar: icalendar.Calendar
    people: dict  # event key -> person id
    events: int
    first_day: date


def refuse(message):
    raise ValidationError({"calendar": message})


def _content_lines(text):
    """(line number, unfolded content line); a line starting with a space or tab continues the last."""
    current, number = None, 0
    for index, raw in enumerate(_LINE_BREAK.split(text), start=1):
        if raw[:1] in (" ", "\t") and current is not None:
            current += raw[1:]
            continue
        if current:
            yield number, current
        current, number = raw, index
    if current:
        yield number, current


def _structure(text):
    """The first line of every VEVENT, in order; refuses what is not one well-nested VCALENDAR."""
    stack, events, calendars = [], [], 0
    for number, line in _content_lines(text):
        try:
            name, _, value = Contentline(line).parts()
        except PARSE_ERRORS:
            refuse(f"line {number}: '{line[:60]}' is not an iCalendar line (NAME:value).")
        name, value = name.upper(), value.strip().upper()
        if name == "BEGIN":
            if not stack:
                calendars += 1
                if value != "VCALENDAR":
                    refuse(f"line {number}: expected BEGIN:VCALENDAR, found BEGIN:{value}.")
                if calendars > 1:
                    refuse(f"line {number}: a second calendar begins here; upload one calendar.")
            stack.append((value, number))
            if value == "VEVENT":
                events.append(number)
                if len(events) > MAX_EVENTS:
                    refuse(f"more than {MAX_EVENTS:,} events (VEVENT); split the calendar.")
        elif name == "END":
            if not stack or stack[-1][0] != value:
                opened = f"BEGIN:{stack[-1][0]} of line {stack[-1][1]}" if stack else "nothing"
                refuse(f"line {number}: END:{value} does not close {opened}.")
            stack.pop()
        elif not stack:
            refuse(f"line {number}: {name} is outside BEGIN:VCALENDAR … END:VCALENDAR.")
    if stack:
        refuse(f"line {stack[-1][1]}: BEGIN:{stack[-1][0]} is never closed.")
    if not calendars:
        refuse("The calendar is empty.")
    if not events:
        refuse("The calendar has no events (VEVENT).")
    return events


def _day(value, tz):
    if isinstance(value, datetime):
        return (value.astimezone(tz) if value.tzinfo else value).date()
    return value


def _check_event(event, number):
    """Refuses what the expansion would misread; returns the event's key."""
    for prop, message in event.errors:
        refuse(f"line {number}: {prop + ': ' if prop else ''}{message}")
    if "DTSTART" not in event:
        refuse(f"line {number}: the event has no DTSTART.")
    for prop in ("DTSTART", "DTEND", "RECURRENCE-ID"):
        if prop not in event:
            continue
        item = event[prop]
        value = getattr(item, "dt", None)
        if not isinstance(value, (date, datetime)):
            refuse(f"line {number}: {prop} is not a date or a date-time.")
        zone = item.params.get("TZID")
        if zone and isinstance(value, datetime) and value.tzinfo is None:
            refuse(f"line {number}: {prop} names the time zone '{zone}', which is neither known nor "
                   "given by a VTIMEZONE.")
    if "DTEND" in event:
        begin, finish = event["DTSTART"].dt, event["DTEND"].dt
        if type(begin) is not type(finish) or (isinstance(begin, datetime) and (begin.tzinfo is None) != (
                finish.tzinfo is None)):
            refuse(f"line {number}: DTSTART and DTEND are not of the same kind (date, local or UTC time).")
        if finish < begin:
            refuse(f"line {number}: the event ends (DTEND) before it starts (DTSTART).")
    rules = event.get("RRULE", [])
    for rule in rules if isinstance(rules, list) else [rules]:
        frequency = (rule.get("FREQ") or [""])[0]
        if str(frequency).upper() in TOO_FREQUENT:
            refuse(f"line {number}: RRULE FREQ={frequency} repeats more often than hourly; no on-call shift does.")
    key = event_key(event)
    if not key:
        refuse(f"line {number}: the event names nobody: give it an ATTENDEE or a SUMMARY.")
    return key


def _chunks(items):
    items = list(items)
    for i in range(0, len(items), QUERY_CHUNK):
        yield items[i:i + QUERY_CHUNK]


def match_people(keys):
    """key -> the ids of the active people it names: "mailto:" keys by the blind index of the
    e-mail of the person's login, other keys by the exact name, ignoring case."""
    found = defaultdict(set)
    addresses = {key[len("mailto:"):] for key in keys if key.startswith("mailto:")}
    for part in _chunks(addresses):
        login = {blind_index(address, "email"): address for address in part}
        rows = User.objects.filter(email_index__in=list(login), person__is_active=True).values_list(
            "email_index", "person__pk")
        for digest, person_id in rows:
            found["mailto:" + login[digest]].add(person_id)
    names = {key for key in keys if not key.startswith("mailto:")}
    if names:
        for person_id, name in Person.objects.filter(is_active=True).values_list("pk", "name"):
            key = name.strip().casefold()
            if key in names:
                found[key].add(person_id)
    return found


def _listed(keys):
    shown = ", ".join(f"'{key}'" for key in keys[:LISTED])
    more = len(keys) - LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _events_name(keys):
    return "1 event names" if len(keys) == 1 else f"{len(keys)} events name"


def _people(keys_in_order):
    found = match_people(keys_in_order)
    unknown = [key for key in keys_in_order if not found.get(key)]
    if unknown:
        refuse(f"{_events_name(unknown)} no active person: {_listed(unknown)}.")
    ambiguous = [key for key in keys_in_order if len(found[key]) > 1]
    if ambiguous:
        refuse(f"{_events_name(ambiguous)} more than one person: "
               f"{_listed(ambiguous)}; use the attendee's e-mail address instead.")
    return {key: next(iter(found[key])) for key in keys_in_order}


def _begins(value, tz):
    if isinstance(value, datetime):
        return to_utc(value, tz) if value.tzinfo is None else value
    return to_utc(datetime.combine(value, datetime.min.time()), tz)


def _expand(calendar, tz, now):
    """Expands the year ahead as reads will, stopping at the first sign of an endless flood."""
    start = now - timedelta(days=7)
    end = start + HORIZON
    try:
        ahead = recurring_ical_events.of(calendar).after(start - EDGE)
        count = 0
        for event in islice(ahead, MAX_OCCURRENCES + 1):
            if _begins(event["DTSTART"].dt, tz) >= end + EDGE:
                break
            count += 1
        if count > MAX_OCCURRENCES:
            refuse(f"the events recur more than {MAX_OCCURRENCES:,} times in the year ahead.")
        occurrences(calendar, start, end, tz)
    except PARSE_ERRORS as exc:
        refuse(f"a recurrence cannot be expanded: {exc}")


def check(source_text, tz, now=None):
    """The calendar in `source_text`, read in the schedule's zone `tz`, or ValidationError."""
    if not isinstance(source_text, str):
        refuse("The calendar must be text.")
    size = len(source_text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_BYTES:
        refuse(f"The calendar is over 1 MiB ({size:,} bytes).")
    if "\x00" in source_text:
        refuse("The calendar contains NUL characters; it is not an iCalendar text file.")
    event_lines = _structure(source_text)
    try:
        calendar = icalendar.Calendar.from_ical(source_text)
    except PARSE_ERRORS as exc:
        refuse(f"not an iCalendar file: {exc}")
    for component in calendar.walk():
        if component.name != "VEVENT" and component.errors:
            prop, message = component.errors[0]
            refuse(f"{component.name}: {prop + ': ' if prop else ''}{message}")
    events = calendar.walk("VEVENT")
    numbers = event_lines if len(event_lines) == len(events) else ["?"] * len(events)
    keys = {}
    first_day = None
    for event, number in zip(events, numbers):
        key = _check_event(event, number)
        keys.setdefault(key, number)
        day = _day(event["DTSTART"].dt, tz)
        first_day = day if first_day is None or day < first_day else first_day
    people = _people(list(keys))
    _expand(calendar, tz, now or timezone.now())
    return Checked(calendar, people, len(events), first_day)
