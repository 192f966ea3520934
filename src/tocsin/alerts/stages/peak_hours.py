"""Peak-hour suppression rules (E4): during a weekly local-time window, alerts of the chosen
severities are recorded only, or held and paged once the window is over if still open.

A rule's window starts on each chosen weekday at `start_time` in its own time zone and ends at
`end_time`, the next day when that is not later (22:00–06:00 crosses midnight; equal times mean
a whole day). Local times that DST skips or repeats follow DESIGN "Time zones"."""

import logging
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q

from tocsin.core.timezones import zone
from tocsin.oncall.wallclock import local, to_utc

from ..models import Alert, SuppressionRule
from ..pipeline import Decision, stage

log = logging.getLogger("tocsin.alerts")


def span_at(rule, now):
    """(start, end) of the rule's window that is on at `now`, or None."""
    tz = zone(rule.time_zone)
    today = local(now, tz).date()
    start_time, end_time = rule.start_time.replace(tzinfo=None), rule.end_time.replace(tzinfo=None)
    # Yesterday's window may cross midnight into today; tomorrow's can begin "before" now only in
    # a fall-back overlap at midnight, where today's reading runs an hour behind.
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        if rule.weekdays and day.weekday() not in rule.weekdays:
            continue
        end_day = day if end_time > start_time else day + timedelta(days=1)
        starts_at = to_utc(datetime.combine(day, start_time), tz)
        ends_at = to_utc(datetime.combine(end_day, end_time), tz)
        if starts_at <= now < ends_at:
            return starts_at, ends_at
    return None


def applies_to(rule, alert):
    return not rule.severities or alert.severity in rule.severities


def _precedence(rule):
    # A rule for this service speaks more precisely than one for every service; between equals,
    # holding wins over recording only, since it still pages if the alert outlasts the window.
    return (rule.service_id is None, rule.action != SuppressionRule.HOLD, rule.pk)


def matching_rule(alert, now):
    """The rule that decides `alert` at `now` and the span of its window, or (None, None)."""
    rules = SuppressionRule.objects.filter(enabled=True).filter(
        Q(service_id=alert.service_id) | Q(service__isnull=True))
    for rule in sorted((r for r in rules if applies_to(r, alert)), key=_precedence):
        try:
            span = span_at(rule, now)
        except (ValueError, TypeError, ValidationError):
            # A rule stored past validation must not stop the processor: it counts as off.
            log.warning("unusable peak-hour rule ignored", extra={"rule": rule.pk})
            continue
        if span is not None:
            return rule, span
    return None, None


@stage("peak_hours")
def decide(alert, settings, now):
    rule, span = matching_rule(alert, now)
    if rule is None:
        return None
    if rule.action == SuppressionRule.HOLD:
        until = local(span[1], zone(rule.time_zone))
        return Decision(Alert.HELD, f"peak-hour rule {rule.name}: held until {until:%H:%M} {rule.time_zone}",
                        recheck_at=span[1])
    return Decision(Alert.SUPPRESSED, f"peak-hour rule {rule.name}: recorded only")
