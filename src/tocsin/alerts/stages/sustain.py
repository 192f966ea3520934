"""Sustained-degradation triggers (E5): a new alert is held until it has fired N times within M
minutes, or stayed open X minutes, or the service's rate of new alerts has left its baseline.

A service may set several of these; the alert pages as soon as any one is met (each is evidence
enough that the degradation is real) and is held while none is. A held alert resolved in the
meantime never pages: the processor does not look at resolved alerts without an incident."""

import statistics
from datetime import UTC, datetime, timedelta

from django.db.models import Count
from django.db.models.functions import TruncMinute

from ..models import Alert
from ..pipeline import Decision, stage

MINUTE = timedelta(minutes=1)


def _recorded_firings(alert):
    state = alert.sustain if isinstance(alert.sustain, dict) else {}
    firings = [(datetime.fromisoformat(at), count) for at, count in state.get("firings", [])]
    return state.get("seen", 0), firings


def firings(alert):
    """The alert's firings as (time, count) pairs, from what was kept at the last look and the
    change in its occurrence count since. The writer stores only a count and the last time, so
    repeats that arrived between two looks are counted at the later look's `last_seen`."""
    seen, found = _recorded_firings(alert)
    if not seen:
        found = [(alert.first_seen, 1)]
        if alert.occurrences > 1:
            found.append((alert.last_seen, alert.occurrences - 1))
    elif alert.occurrences > seen:
        found.append((alert.last_seen, alert.occurrences - seen))
    return found


def _keep(alert, found, window):
    """Remember what the next look needs; older firings can no longer count."""
    horizon = alert.last_seen - window if window is not None else None
    state = {"seen": alert.occurrences,
             "firings": [[at.isoformat(), count] for at, count in found if horizon is None or at >= horizon]}
    alert.sustain = state
    # The processor saves only the handling columns, so this bookkeeping is written here.
    Alert.objects.filter(pk=alert.pk).update(sustain=state)


def often_enough(alert, settings):
    """(met, reason) for "fires at least N times within M minutes" (no M: N times in all)."""
    needed = settings.min_occurrences
    window = timedelta(minutes=settings.occurrence_window_minutes) if settings.occurrence_window_minutes else None
    found = firings(alert)
    _keep(alert, found, window)
    horizon = alert.last_seen - window if window is not None else None
    count = sum(n for at, n in found if horizon is None or at >= horizon)
    within = f" within {settings.occurrence_window_minutes} minutes" if window is not None else ""
    return count >= needed, f"fired {count} of {needed} times{within}"


def long_enough(alert, settings, now):
    """(met, reason, recheck_at) for "stays open at least X minutes"."""
    due = alert.first_seen + timedelta(minutes=settings.open_for_minutes)
    return now >= due, f"open less than {settings.open_for_minutes} minutes", due


def rate_per_minute(service_id, now, minutes):
    """New alerts on the service in the current minute, and in each of the `minutes` whole
    minutes before it (oldest first)."""
    current_minute = now.astimezone(UTC).replace(second=0, microsecond=0)
    since = current_minute - minutes * MINUTE
    rows = (Alert.objects.filter(service_id=service_id, first_seen__gte=since, first_seen__lte=now)
            .annotate(minute=TruncMinute("first_seen", tzinfo=UTC)).values("minute")
            .annotate(alerts=Count("id")).order_by())
    counts = {row["minute"]: row["alerts"] for row in rows}
    return counts.get(current_minute, 0), [counts.get(since + i * MINUTE, 0) for i in range(minutes)]


def above_baseline(alert, settings, now):
    """(met, reason, recheck_at) for "the alert rate exceeds its baseline by k deviations".
    Below it the alert is looked at again each minute, but at most for one baseline window
    after it was first seen: then it pages anyway, so a quiet spell never hides a lasting alert."""
    minutes = max(1, settings.baseline_window_minutes)
    deadline = alert.first_seen + minutes * MINUTE
    if now >= deadline:
        return True, "", None
    current, history = rate_per_minute(alert.service_id, now, minutes)
    mean, spread = statistics.fmean(history), statistics.pstdev(history)
    threshold = mean + settings.baseline_deviations * spread
    reason = f"{current} new alerts this minute, not above the baseline {mean:.1f} + {settings.baseline_deviations:g}σ"
    return current > threshold, reason, min(now + MINUTE, deadline)


@stage("sustain")
def decide(alert, settings, now):
    waiting, rechecks = [], []
    configured = False
    if settings.min_occurrences:
        configured = True
        met, reason = often_enough(alert, settings)
        if met:
            return None
        waiting.append(reason)
    for condition, enabled in ((long_enough, settings.open_for_minutes),
                               (above_baseline, settings.baseline_deviations is not None)):
        if not enabled:
            continue
        configured = True
        met, reason, recheck_at = condition(alert, settings, now)
        if met:
            return None
        waiting.append(reason)
        rechecks.append(recheck_at)
    if not configured:
        return None
    return Decision(Alert.HELD, "held: " + "; ".join(waiting), recheck_at=min(rechecks) if rechecks else None)
