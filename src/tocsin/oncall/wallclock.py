"""Wall-clock time in a schedule's zone and back to UTC, with the DST rules of DESIGN.md:
a local time in the spring-forward gap means the first valid instant after it (the
transition itself); an ambiguous one in the fall-back overlap means its first occurrence."""

from datetime import UTC, datetime, timedelta
from functools import lru_cache


def local(instant, tz):
    """The naive wall-clock reading of an aware instant in `tz`."""
    reading = instant.astimezone(tz)
    return datetime.combine(reading.date(), reading.time())  # faster than replace(tzinfo=None)


@lru_cache(maxsize=65536)
def to_utc(wall, tz):
    """The UTC instant at which clocks in `tz` show the naive `wall` time (see module rule)."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if local(first, tz) == wall:
        return first  # exists; fold=0 is the first occurrence when ambiguous
    # In the gap: fold=1 reads it with the offset after the jump, fold=0 with the one before,
    # and the transition lies between the two readings. Find it to the second.
    low = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = first
    if low > high:
        low, high = high, low
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if local(middle, tz) < wall:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0) if local(high.replace(microsecond=0), tz) >= wall else high
