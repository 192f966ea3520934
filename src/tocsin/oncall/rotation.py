"""The arithmetic of one rotation: where its shifts begin and end in UTC, who holds shift k,
and the restriction windows ("weekdays 09–17") that clip them. All boundaries are wall-clock
times in the schedule's zone, converted with wallclock.to_utc, so handoffs keep their local
time across DST and a shift spanning a change is an hour shorter or longer in real time."""

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.core.exceptions import ValidationError

from .wallclock import local, to_utc

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_DAY = timedelta(days=1)


def parse_clock(value, where=""):
    """"HH:MM" (00:00 to 23:59) as a time of day, or a ValidationError saying `where` it was."""
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if not match:
        prefix = f"{where}: " if where else ""
        raise ValidationError(f"{prefix}'{str(value)[:20]}' is not a time of day as HH:MM.", code="clock")
    return time(int(match[1]), int(match[2]))


@dataclass(frozen=True)
class Window:
    """On each of `days` (Monday = 0), from `start` to `end` local time; an end at or before
    the start runs into the next day, and equal times mean the whole day."""

    days: frozenset
    start: time
    end: time

    @classmethod
    def parse(cls, raw, index=0):
        where = f"restrictions[{index}]"
        if not isinstance(raw, dict) or set(raw) - {"days", "start", "end"}:
            raise ValidationError(f"{where} must be an object with days, start and end.", code="restrictions")
        days = raw.get("days", list(range(7)))
        if not isinstance(days, list) or not days or any(type(d) is not int or not 0 <= d <= 6 for d in days):
            raise ValidationError(f"{where}.days must list weekdays 0 (Monday) to 6 (Sunday).", code="restrictions")
        start, end = parse_clock(raw.get("start"), f"{where}.start"), parse_clock(raw.get("end"), f"{where}.end")
        return cls(frozenset(days), start, end)

    def as_dict(self):
        return {"days": sorted(self.days), "start": self.start.strftime("%H:%M"), "end": self.end.strftime("%H:%M")}

    def label(self):
        days = ", ".join(DAY_NAMES[d] for d in sorted(self.days))
        return f"{days} {self.start:%H:%M}–{self.end:%H:%M}"

    def occurrence(self, day, tz):
        """The UTC interval this window covers when it opens on local `day`."""
        begin = datetime.combine(day, self.start)
        finish = datetime.combine(day, self.end)
        if finish <= begin:
            finish += _DAY
        return to_utc(begin, tz), to_utc(finish, tz)


def parse_restrictions(raw):
    if raw in (None, ""):
        return ()
    if not isinstance(raw, list):
        raise ValidationError("restrictions must be a list of windows.", code="restrictions")
    if len(raw) > 50:
        raise ValidationError("restrictions: at most 50 windows.", code="restrictions")
    return tuple(Window.parse(item, i) for i, item in enumerate(raw))


class Rotation:
    """Shift k runs from boundary(k) to boundary(k + 1); boundary(0) is the start date's handoff."""

    def __init__(self, *, tz, start_date, handoff, step, shift_size, slots, end_date=None, windows=()):
        self.tz = tz
        self.epoch = datetime.combine(start_date, handoff)
        self.step = step
        self.shift_size = shift_size
        self.slots = slots  # number of participants
        self.windows = tuple(windows)
        self.starts = to_utc(self.epoch, tz)
        self.ends = to_utc(datetime.combine(end_date, handoff), tz) if end_date else None
        self._boundaries = {}
        self._openings = {}  # (window index, local day) -> UTC interval

    def boundary(self, k):
        found = self._boundaries.get(k)
        if found is None:
            found = self._boundaries[k] = to_utc(self.epoch + k * self.step, self.tz)
        return found

    def index_at(self, instant, wall=None):
        """The k whose shift contains `instant` (negative before the rotation starts)."""
        k = ((wall or local(instant, self.tz)) - self.epoch) // self.step
        while self.boundary(k) > instant:
            k -= 1
        while self.boundary(k + 1) <= instant:
            k += 1
        return k

    def positions(self, k):
        """Which participant positions hold shift k: shift_size of them, taken in turn."""
        if not self.slots:
            return ()
        size = min(self.shift_size, self.slots)
        return tuple((k * size + i) % self.slots for i in range(size))

    def _restricted_open(self, instant, wall, fold):
        today = wall.date()
        for day in (today - _DAY, today):
            weekday = day.weekday()
            for index, window in enumerate(self.windows):
                if weekday not in window.days:
                    continue
                if not fold:
                    # Outside the repeated hour of a fall-back, an instant is at or after
                    # to_utc(b) exactly when its wall clock reads b or later (to_utc(b) is
                    # the first instant whose reading reaches b), so compare readings.
                    begin = datetime.combine(day, window.start)
                    finish = datetime.combine(day, window.end)
                    if finish <= begin:
                        finish += _DAY
                    if begin <= wall < finish:
                        return True
                    continue
                interval = self._openings.get((index, day))
                if interval is None:
                    interval = self._openings[index, day] = window.occurrence(day, self.tz)
                if interval[0] <= instant < interval[1]:
                    return True
        return False

    def on_duty(self, instant, wall=None, fold=None):
        """The shift index covering `instant`, or None where the rotation has no shift. The
        caller may pass the instant's wall-clock reading and fold if it knows them already."""
        if instant < self.starts or (self.ends is not None and instant >= self.ends):
            return None
        if wall is None:
            reading = instant.astimezone(self.tz)
            wall, fold = datetime.combine(reading.date(), reading.time()), reading.fold
        if self.windows and not self._restricted_open(instant, wall, fold):
            return None
        return self.index_at(instant, wall)

    def openings(self, start, end):
        """The UTC intervals of the restriction windows around [start, end), sorted by start."""
        found = []
        day = local(start, self.tz).date() - _DAY
        last = local(end, self.tz).date()
        while day <= last:
            for index, window in enumerate(self.windows):
                if day.weekday() in window.days:
                    interval = self._openings.get((index, day))
                    if interval is None:
                        interval = self._openings[index, day] = window.occurrence(day, self.tz)
                    found.append(interval)
            day += _DAY
        found.sort()
        return found

    def boundaries(self, start, end):
        """Every instant in (start, end) where this rotation's answer may change."""
        lower = max(start, self.starts)
        upper = min(end, self.ends) if self.ends is not None else end
        points = {self.starts}
        if self.ends is not None:
            points.add(self.ends)
        if lower < upper:
            k = self.index_at(lower)
            while True:
                k += 1
                edge = self.boundary(k)
                if edge >= upper:
                    break
                points.add(edge)
            if self.windows:
                day = local(lower, self.tz).date() - timedelta(days=1)
                last = local(upper, self.tz).date()
                while day <= last:
                    for window in self.windows:
                        if day.weekday() in window.days:
                            points.update(window.occurrence(day, self.tz))
                    day += timedelta(days=1)
        return {p for p in points if start < p < end}


def step_of(rotation, length, unit):
    if rotation == "daily":
        return timedelta(days=1)
    if rotation == "weekly":
        return timedelta(weeks=1)
    return timedelta(hours=length) if unit == "hours" else timedelta(days=length)
