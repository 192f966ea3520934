"""Peak-hour suppression rules (E4): record only, or hold and page after the window if still open."""

from datetime import UTC, datetime, time

import pytest

from tocsin.alerts import processing
from tocsin.alerts.events import Event
from tocsin.alerts.models import Alert, SuppressionRule
from tocsin.alerts.stages.peak_hours import span_at
from tocsin.alerts.store import store_events
from tocsin.engine.models import Job
from tocsin.engine.worker import Engine
from tocsin.incidents.models import Incident

WEEKDAYS = [0, 1, 2, 3, 4]


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def send(service, dedup_key, at, action="trigger", severity="warning"):
    store_events([Event(action=action, dedup_key=dedup_key, severity=severity, summary=f"{dedup_key} is slow",
                        service_id=service.pk)], at)
    while processing.process(at):
        pass
    return Alert.objects.filter(service=service, dedup_key=dedup_key).order_by("-id").first()


def rule(action=SuppressionRule.RECORD, **fields):
    values = {"name": "Business hours", "severities": ["warning", "info"], "weekdays": WEEKDAYS,
              "start_time": time(9), "end_time": time(17), "time_zone": "Europe/Berlin", "action": action, **fields}
    return SuppressionRule.objects.create(**values)


def run_engine(now):
    """Run the engine's jobs due at `now` (the held alerts' rechecks among them)."""
    Engine(name="peak-hours-test").run_due(now)


def test_record_only_inside_the_window_for_the_chosen_severities(service):
    rule()
    monday_ten = utc(2026, 5, 4, 8)  # 10:00 in Berlin (CEST)
    quiet = send(service, "latency", monday_ten)
    loud = send(service, "outage", monday_ten, severity="critical")
    assert (quiet.handling, quiet.reason, quiet.incident) == (
        Alert.SUPPRESSED, "peak-hour rule Business hours: recorded only", None)
    assert loud.handling == Alert.PAGED
    assert not Job.objects.filter(kind="alerts.recheck").exists()
    # Recorded alerts stay queryable, with their reason.
    assert list(Alert.objects.filter(handling=Alert.SUPPRESSED).values_list("dedup_key", "reason")) == [
        ("latency", "peak-hour rule Business hours: recorded only")]


@pytest.mark.parametrize("at, suppressed", [
    (utc(2026, 5, 4, 6, 59, 59), False),  # Monday 08:59:59 in Berlin
    (utc(2026, 5, 4, 7), True),           # 09:00
    (utc(2026, 5, 8, 14, 59, 59), True),  # Friday 16:59:59
    (utc(2026, 5, 8, 15), False),         # Friday 17:00
    (utc(2026, 5, 9, 10), False),         # Saturday
    (utc(2026, 1, 5, 8, 30), True),       # a Monday in winter: 09:30 CET
    (utc(2026, 1, 5, 7, 30), False),      # 08:30 CET
])
def test_the_window_is_local_time_in_the_rules_zone(service, at, suppressed):
    rule()
    assert (send(service, "latency", at).handling == Alert.SUPPRESSED) is suppressed


def test_hold_pages_after_the_window_if_the_alert_is_still_open(service):
    rule(SuppressionRule.HOLD)
    held = send(service, "latency", utc(2026, 5, 4, 8))
    assert (held.handling, held.reason) == (Alert.HELD, "peak-hour rule Business hours: held until 17:00 Europe/Berlin")
    recheck = Job.objects.get(kind="alerts.recheck", payload={"alert": held.pk})
    assert recheck.due_at == utc(2026, 5, 4, 15)  # 17:00 in Berlin
    # Repeats inside the window keep it held, with the one recheck.
    again = send(service, "latency", utc(2026, 5, 4, 12))
    assert (again.pk, again.handling, again.occurrences) == (held.pk, Alert.HELD, 2)
    assert Job.objects.filter(kind="alerts.recheck", state=Job.PENDING).count() == 1
    run_engine(utc(2026, 5, 4, 14, 59))
    assert not Incident.objects.exists()
    run_engine(utc(2026, 5, 4, 15))
    held.refresh_from_db()
    assert held.handling == Alert.PAGED and held.incident == Incident.objects.get()


def test_a_held_alert_resolved_inside_the_window_never_pages(service):
    rule(SuppressionRule.HOLD)
    held = send(service, "latency", utc(2026, 5, 4, 8))
    send(service, "latency", utc(2026, 5, 4, 9), action="resolve")
    run_engine(utc(2026, 5, 4, 15))
    held.refresh_from_db()
    assert (held.status, held.handling, held.incident) == (Alert.RESOLVED, Alert.HELD, None)
    assert not Incident.objects.exists()


def test_a_window_may_cross_midnight():
    night = SuppressionRule(name="Nights", severities=[], weekdays=[4], start_time=time(22), end_time=time(6),
                            time_zone="America/New_York")
    # Friday 22:00 EDT is 02:00 UTC on Saturday; the window ends Saturday 06:00 EDT (10:00 UTC).
    assert span_at(night, utc(2026, 5, 9, 1, 59)) is None
    assert span_at(night, utc(2026, 5, 9, 2)) == (utc(2026, 5, 9, 2), utc(2026, 5, 9, 10))
    assert span_at(night, utc(2026, 5, 9, 9, 59)) is not None
    assert span_at(night, utc(2026, 5, 9, 10)) is None
    assert span_at(night, utc(2026, 5, 10, 3)) is None  # Saturday night is not chosen


def test_equal_start_and_end_mean_the_whole_day():
    sunday = SuppressionRule(name="Sundays", severities=[], weekdays=[6], start_time=time(0), end_time=time(0),
                             time_zone="UTC")
    assert span_at(sunday, utc(2026, 5, 10, 23, 59)) == (utc(2026, 5, 10), utc(2026, 5, 11))
    assert span_at(sunday, utc(2026, 5, 11)) is None


def test_hours_that_dst_skips_are_not_held_for():
    # 01:00–03:00 in Berlin on 29 March 2026 lasts one hour: 02:00–03:00 never happens.
    early = SuppressionRule(name="Early", severities=[], weekdays=[], start_time=time(1), end_time=time(3),
                            time_zone="Europe/Berlin")
    assert span_at(early, utc(2026, 3, 29, 0, 30)) == (utc(2026, 3, 29, 0), utc(2026, 3, 29, 1))
    assert span_at(early, utc(2026, 3, 29, 1)) is None


def test_rules_of_other_services_and_disabled_rules_do_not_apply(service, make_service):
    other = make_service("Website", team="Web")
    rule(service=other)
    rule(name="Off", enabled=False)
    assert send(service, "latency", utc(2026, 5, 4, 8)).handling == Alert.PAGED
    assert send(other, "latency", utc(2026, 5, 4, 8)).handling == Alert.SUPPRESSED


def test_empty_severities_and_weekdays_mean_all(service):
    rule(severities=[], weekdays=[])
    assert send(service, "outage", utc(2026, 5, 9, 10), severity="critical").handling == Alert.SUPPRESSED


def test_a_rule_for_the_service_outranks_one_for_all_and_hold_outranks_record(service):
    rule(name="Everyone records")
    rule(SuppressionRule.HOLD, name="Payments holds", service=service)
    assert send(service, "latency", utc(2026, 5, 4, 8)).reason.startswith("peak-hour rule Payments holds")
    SuppressionRule.objects.all().delete()
    rule(name="Record")
    rule(SuppressionRule.HOLD, name="Hold")
    assert send(service, "other", utc(2026, 5, 4, 8)).handling == Alert.HELD


def test_a_rule_with_a_broken_zone_is_ignored_so_alerts_still_page(service):
    rule(time_zone="Mars/Olympus_Mons")
    assert send(service, "latency", utc(2026, 5, 4, 8)).handling == Alert.PAGED
