"""Availability windows of contact methods: '24/7', or days and hours in a time zone,
such as 'Mon-Fri 08:00-18:00 Europe/Berlin'."""

import re
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_SPEC = re.compile(
    r"^(?P<days>[A-Za-z]{3}(?:-[A-Za-z]{3})?(?:,[A-Za-z]{3}(?:-[A-Za-z]{3})?)*)\s+"
    r"(?P<start>\d{1,2}(?::\d{2})?)-(?P<end>\d{1,2}(?::\d{2})?)\s+(?P<zone>\S+)$"
)
ALWAYS = "24/7"


def _clock(text):
    hours, _, minutes = text.partition(":")
    hours, minutes = int(hours), int(minutes or 0)
    if hours == 24 and minutes == 0:
        return time(23, 59, 59, 999999)
    return time(hours, minutes)


def _days(text):
    chosen = set()
    for part in text.lower().split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(part)
        start, end = DAYS.index(first), DAYS.index(last or first)
        index = start
        while True:
            chosen.add(index)
            if index == end:
                break
            index = (index + 1) % 7
    return chosen


def parse(spec):
    """Return None for always, else (weekday set, start, end, zone). Raises ValidationError."""
    spec = (spec or ALWAYS).strip()
    if spec.lower() in {ALWAYS, "always", "24x7"}:
        return None
    match = _SPEC.match(spec)
    error = ValidationError(
        {"availability": f"'{spec}' is not an availability window; write '24/7' or, for example, 'Mon-Fri 08:00-18:00 Europe/Berlin'."}
    )
    if not match:
        raise error
    try:
        days = _days(match["days"])
        start, end = _clock(match["start"]), _clock(match["end"])
        zone = ZoneInfo(match["zone"])
    except (ValueError, ZoneInfoNotFoundError):
        raise error from None
    if start == end:
        raise error
    return days, start, end, zone


def is_available(spec, at):
    """True if `at` (aware) falls in the window, read in the window's own time zone.
    A window whose end is before its start runs past midnight into the next day."""
    window = parse(spec)
    if window is None:
        return True
    days, start, end, zone = window
    local = at.astimezone(zone)
    clock, weekday = local.time(), local.weekday()
    if start < end:
        return weekday in days and start <= clock < end
    return (weekday in days and clock >= start) or ((weekday - 1) % 7 in days and clock < end)
