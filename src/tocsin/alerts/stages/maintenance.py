"""Maintenance windows (E4): when a window is on, and the stage that records a service's alerts
without paging while one of its windows is.

A one-off window is on from `starts_at` to `ends_at`. A recurring one repeats by its RRULE on the
wall clock of its own time zone: every occurrence starts at the local time the first one did and
lasts as many wall-clock minutes, whatever DST does in between (DESIGN: time zones)."""

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from dateutil.rrule import rruleset, rrulestr
from django.core.exceptions import ValidationError
from django.db.models import Q

from tocsin.core.timezones import zone
from tocsin.oncall.wallclock import local, to_utc

from ..models import Alert, MaintenanceWindow
from ..pipeline import Decision, stage

# A wall-clock reading and the instant it stands for differ by at most the zone's offset changes
# (an hour or two at DST); looking a day either way around `now` finds every candidate occurrence.
CLOCK_SLACK = timedelta(days=1)
# Windows recurring every few seconds or minutes are almost always a typo, and would make every
# alert expand thousands of occurrences.
TOO_FREQUENT = re.compile(r"(^|;)\s*FREQ\s*=\s*(SECONDLY|MINUTELY)\s*(;|$)", re.IGNORECASE)
# dateutil accepts INTERVAL=0 and then never advances.
NO_INTERVAL = re.compile(r"(^|;)\s*INTERVAL\s*=\s*[+-]?0*\s*(;|$)", re.IGNORECASE)
UNTIL_IN_UTC = re.compile(r"UNTIL=(\d{8}T\d{6})Z", re.IGNORECASE)
log = logging.getLogger("tocsin.alerts")


@dataclass(frozen=True)
class Occurrence:
    window: MaintenanceWindow
    starts_at: datetime
    ends_at: datetime


def _rule_text(recurrence, tz):
    """The RRULE body, with a UTC UNTIL (as RFC 5545 wants it for zoned starts) turned into the
    zone's wall clock, since occurrences are expanded on naive wall-clock times."""
    body = recurrence.strip()
    if body[:6].upper() == "RRULE:":
        body = body[6:]

    def wall_until(match):
        instant = datetime.strptime(match[1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return "UNTIL=" + local(instant, tz).strftime("%Y%m%dT%H%M%S")
    return UNTIL_IN_UTC.sub(wall_until, body)


@lru_cache(maxsize=512)
def wall_schedule(recurrence, wall_start, time_zone):
    """The wall-clock start times of a recurring window: its first start, then its RRULE's.
    Raises ValueError with a readable message when the rule is not usable."""
    tz = zone(time_zone)
    body = _rule_text(recurrence, tz)
    if not body or "\n" in body or "\r" in body:
        raise ValueError("Give one RRULE, e.g. FREQ=WEEKLY;BYDAY=SU.")
    if TOO_FREQUENT.search(body):
        raise ValueError("A maintenance window recurs at most hourly.")
    if NO_INTERVAL.search(body):
        raise ValueError("INTERVAL must be at least 1.")
    try:
        rule = rrulestr(body, dtstart=wall_start, cache=True)
        rule.after(wall_start)  # some bad values only show when expanded
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise ValueError(f"Not a valid RRULE: {str(exc)[:120]}.") from None
    schedule = rruleset(cache=True)
    schedule.rrule(rule)
    schedule.rdate(wall_start)  # RFC 5545: the start is the first occurrence even if the rule skips it
    return schedule


def wall_length(window, tz):
    """How long each occurrence lasts on the wall clock."""
    return local(window.ends_at, tz) - local(window.starts_at, tz)


def occurrence_at(window, now):
    """The window's occurrence that is on at `now` (start <= now < end), or None."""
    if not window.recurrence:
        if window.starts_at <= now < window.ends_at:
            return Occurrence(window, window.starts_at, window.ends_at)
        return None
    tz = zone(window.time_zone)
    wall_start = local(window.starts_at, tz)
    schedule = wall_schedule(window.recurrence, wall_start, window.time_zone)
    wall_now = local(now, tz)
    # Wall times map to instants in order (to_utc never goes backwards), and every occurrence is
    # equally long on the wall clock, so the latest occurrence to have started is the only one
    # that can still be on.
    candidates = schedule.between(wall_now - CLOCK_SLACK, wall_now + CLOCK_SLACK, inc=True)
    earlier = schedule.before(wall_now - CLOCK_SLACK)
    if earlier is not None:
        candidates.insert(0, earlier)
    started = [wall for wall in candidates if to_utc(wall, tz) <= now]
    if not started:
        return None
    wall = started[-1]
    starts_at, ends_at = to_utc(wall, tz), to_utc(wall + wall_length(window, tz), tz)
    if starts_at <= now < ends_at:
        return Occurrence(window, starts_at, ends_at)
    return None


def active_windows(service_id, now):
    """The maintenance windows of the service that are on at `now`, as occurrences (which say
    when this one started and will end), earliest start first."""
    windows = (MaintenanceWindow.objects.filter(services__id=service_id, starts_at__lte=now)
               .filter(Q(ends_at__gt=now) | ~Q(recurrence="")).distinct())
    found = []
    for window in windows:
        try:
            occurrence = occurrence_at(window, now)
        except (ValueError, ValidationError):
            # A window stored past validation (by hand, or an old zone name) must not stop the
            # processor: it counts as off, so alerts page rather than vanish.
            log.warning("unusable maintenance window ignored", extra={"window": window.pk})
            continue
        if occurrence is not None:
            found.append(occurrence)
    return sorted(found, key=lambda o: (o.starts_at, o.window.pk))


@stage("maintenance")
def decide(alert, settings, now):
    found = active_windows(alert.service_id, now)
    if not found:
        return None
    return Decision(Alert.SUPPRESSED, f"maintenance window {found[0].window.name}")
