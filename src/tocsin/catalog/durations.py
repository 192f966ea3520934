"""Durations of the impact analysis: parse "30m", "4h", "2d" or plain minutes; show them humanised."""

import re

from django.core.exceptions import ValidationError

UNITS = {"m": 1, "min": 1, "h": 60, "d": 24 * 60, "w": 7 * 24 * 60}
# A year: no objective of a continuity plan is longer, and it keeps every value far inside the column.
MAX_MINUTES = 366 * 24 * 60
# Longer text is never a duration; refusing it first keeps the parser's work bounded.
MAX_TEXT = 40
# ASCII digits only, at most nine of them: str.isdigit() also admits "²" and int() then fails,
# and thousands of digits exceed Python's integer-parsing limit.
_MINUTES = re.compile(r"[0-9]{1,9}")
_PART = re.compile(r"([0-9]{1,9})\s*(min|m|h|d|w)", re.IGNORECASE)
_PARTS = re.compile(r"\s*(?:[0-9]{1,9}\s*(?:min|m|h|d|w)\s*)+", re.IGNORECASE)


def parse_minutes(value, field):
    """Minutes from an int, a digit string, or units such as "1d 4h"; None or "" means not set.
    Raises ValidationError naming `field`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError({field: "Give a duration such as 30m, 4h or 2d, or a number of minutes."})
    if isinstance(value, int):
        minutes = value
    else:
        minutes = _parse_text(value, field)
    if minutes < 0 or minutes > MAX_MINUTES:
        raise ValidationError({field: f"A duration between 0 minutes and {humanise(MAX_MINUTES)} is required."})
    return minutes


def _parse_text(value, field):
    text = value.strip().lower()
    if len(text) <= MAX_TEXT:
        if _MINUTES.fullmatch(text):
            return int(text)
        if _PARTS.fullmatch(text):
            return sum(int(number) * UNITS[unit] for number, unit in _PART.findall(text))
    raise ValidationError({field: f"'{value[:MAX_TEXT]}' is not a duration; use for example 30m, 4h, 2d or minutes."})


def humanise(minutes):
    """4h, 1d 4h, 30m; an empty value shows as an em dash."""
    if minutes is None:
        return "—"
    if minutes == 0:
        return "0m"
    parts = []
    for unit, size in (("d", 24 * 60), ("h", 60), ("m", 1)):
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts)
