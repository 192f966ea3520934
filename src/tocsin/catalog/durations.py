"""Durations of the impact analysis: parse "30m", "4h", "2d" or plain minutes; show them humanised."""

import re

from django.core.exceptions import ValidationError

UNITS = {"m": 1, "min": 1, "h": 60, "d": 24 * 60, "w": 7 * 24 * 60}
# A year: no objective of a continuity plan is longer, and it keeps every value far inside the column.
MAX_MINUTES = 366 * 24 * 60
_PART = re.compile(r"(\d+)\s*(min|m|h|d|w)", re.IGNORECASE)


def parse_minutes(value, field):
    """Minutes from an int, a digit string, or units such as "1d 4h"; None or "" means not set.
    Raises ValidationError naming `field`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValidationError({field: "Give a duration such as 30m, 4h or 2d, or a number of minutes."})
    if isinstance(value, int):
        minutes = value
    else:
        text = str(value).strip().lower()
        if text.isdigit():
            minutes = int(text)
        else:
            parts = _PART.findall(text)
            if not parts or _PART.sub("", text).strip():
                raise ValidationError(
                    {field: f"'{str(value)[:40]}' is not a duration; use for example 30m, 4h, 2d or minutes."}
                )
            minutes = sum(int(number) * UNITS[unit] for number, unit in parts)
    if minutes < 0 or minutes > MAX_MINUTES:
        raise ValidationError({field: f"A duration between 0 minutes and {humanise(MAX_MINUTES)} is required."})
    return minutes


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
