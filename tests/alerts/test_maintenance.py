"""Maintenance windows (E4): one-off and recurring, in their own time zones across DST."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from tocsin.alerts import processing
from tocsin.alerts.events import Event
from tocsin.alerts.models import Alert, MaintenanceWindow
from tocsin.alerts.services_maintenance import create_window, end_window
from tocsin.alerts.stages.maintenance import active_windows, occurrence_at
from tocsin.alerts.store import store_events
from tocsin.core.audit import Actor
from tocsin.core.models import AuditEntry
from tocsin.incidents.models import Incident

ADMIN = Actor.system("maintenance test")
BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def fire(service, dedup_key, at, severity="critical"):
    store_events([Event(action="trigger", dedup_key=dedup_key, severity=severity, summary=f"{dedup_key} is failing",
                        service_id=service.pk)], at)
    while processing.process(at):
        pass
    return Alert.objects.get(service=service, dedup_key=dedup_key, status__in=Alert.OPEN)


def window(service, starts_at, ends_at, **fields):
    return create_window(actor=ADMIN, name=fields.pop("name", "Database upgrade"), services=[service],
                         starts_at=starts_at, ends_at=ends_at, **fields)


def on(service, now):
    return [o.window.name for o in active_windows(service.pk, now)]


def test_an_alert_inside_a_window_is_recorded_with_its_reason_and_pages_nobody(service, make_service):
    other = make_service("Website", team="Web")
    window(service, utc(2026, 5, 4, 20), utc(2026, 5, 4, 22))
    alert = fire(service, "disk", utc(2026, 5, 4, 21))
    elsewhere = fire(other, "disk", utc(2026, 5, 4, 21))
    assert (alert.handling, alert.reason, alert.incident) == (
        Alert.SUPPRESSED, "maintenance window Database upgrade", None)
    assert elsewhere.handling == Alert.PAGED
    assert Incident.objects.filter(service=service).count() == 0
    # Suppressed alerts stay queryable with their reason.
    recorded = Alert.objects.filter(service=service, handling=Alert.SUPPRESSED)
    assert list(recorded.values_list("dedup_key", "reason")) == [("disk", "maintenance window Database upgrade")]


def test_a_window_is_on_from_its_start_up_to_but_not_at_its_end(service):
    window(service, utc(2026, 5, 4, 20), utc(2026, 5, 4, 22))
    assert on(service, utc(2026, 5, 4, 19, 59, 59)) == []
    assert on(service, utc(2026, 5, 4, 20)) == ["Database upgrade"]
    assert on(service, utc(2026, 5, 4, 21, 59, 59)) == ["Database upgrade"]
    assert on(service, utc(2026, 5, 4, 22)) == []
    assert fire(service, "late", utc(2026, 5, 4, 22)).handling == Alert.PAGED


def test_one_window_can_cover_several_services(service, make_service):
    other = make_service("Website", team="Web")
    create_window(actor=ADMIN, name="Network", services=[service, other.pk],
                  starts_at=utc(2026, 5, 4, 20), ends_at=utc(2026, 5, 4, 22))
    assert on(service, utc(2026, 5, 4, 21)) == on(other, utc(2026, 5, 4, 21)) == ["Network"]


# Sundays 02:00–04:00 in Berlin. Clocks go forward at 02:00 on 29 March 2026 (02:00 never
# happens) and back at 03:00 on 25 October 2026 (02:00–03:00 happens twice).
BERLIN_SUNDAYS = [
    # (Sunday, first instant on, first instant off), in UTC
    (utc(2026, 3, 22, 1), utc(2026, 3, 22, 3)),   # CET: 02:00 = 01:00 UTC
    (utc(2026, 3, 29, 1), utc(2026, 3, 29, 2)),   # 02:00 does not exist: on at the jump (03:00 CEST) until 04:00 CEST
    (utc(2026, 4, 5, 0), utc(2026, 4, 5, 2)),     # CEST: 02:00 = 00:00 UTC
    (utc(2026, 10, 25, 0), utc(2026, 10, 25, 3)),  # 02:00 twice: the first one (CEST); 04:00 CET
    (utc(2026, 11, 1, 1), utc(2026, 11, 1, 3)),   # CET again
]


@pytest.mark.parametrize("starts, ends", BERLIN_SUNDAYS)
def test_a_weekly_berlin_window_keeps_its_local_hours_across_dst(service, starts, ends):
    window(service, datetime(2026, 3, 15, 2, 0), datetime(2026, 3, 15, 4, 0), time_zone="Europe/Berlin",
           recurrence="FREQ=WEEKLY;BYDAY=SU", name="Sunday patching")
    assert on(service, starts - timedelta(seconds=1)) == []
    assert on(service, starts) == ["Sunday patching"]
    assert on(service, ends - timedelta(seconds=1)) == ["Sunday patching"]
    assert on(service, ends) == []
    [occurrence] = active_windows(service.pk, starts)
    assert (occurrence.starts_at, occurrence.ends_at) == (starts, ends)


def test_no_occurrence_on_other_days_nor_before_the_first(service):
    window(service, datetime(2026, 3, 15, 2, 0), datetime(2026, 3, 15, 4, 0), time_zone="Europe/Berlin",
           recurrence="FREQ=WEEKLY;BYDAY=SU")
    assert on(service, utc(2026, 3, 8, 1, 30)) == []    # the Sunday before the window's first
    assert on(service, utc(2026, 3, 24, 1, 30)) == []   # a Tuesday
    assert on(service, utc(2026, 3, 15, 1, 30)) != []


# Daily 01:30–02:30 in New York. Clocks go forward at 02:00 on 8 March 2026 and back at 02:00 on
# 1 November 2026 (01:00–02:00 happens twice).
NEW_YORK_DAYS = [
    (utc(2026, 3, 7, 6, 30), utc(2026, 3, 7, 7, 30)),   # EST
    (utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 0)),    # the end, 02:30, does not exist: off at the jump
    (utc(2026, 3, 9, 5, 30), utc(2026, 3, 9, 6, 30)),   # EDT
    (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 7, 30)),  # 01:30 twice: the first (EDT); 02:30 EST
    (utc(2026, 11, 2, 6, 30), utc(2026, 11, 2, 7, 30)),  # EST
]


@pytest.mark.parametrize("starts, ends", NEW_YORK_DAYS)
def test_a_daily_new_york_window_keeps_its_local_hours_across_dst(service, starts, ends):
    window(service, datetime(2026, 3, 1, 1, 30), datetime(2026, 3, 1, 2, 30), time_zone="America/New_York",
           recurrence="RRULE:FREQ=DAILY")
    assert on(service, starts - timedelta(seconds=1)) == []
    assert on(service, starts) != [] and on(service, ends - timedelta(seconds=1)) != []
    assert on(service, ends) == []


def test_alerts_in_a_recurring_window_are_suppressed_and_outside_it_page(service):
    window(service, datetime(2026, 3, 15, 2, 0), datetime(2026, 3, 15, 4, 0), time_zone="Europe/Berlin",
           recurrence="FREQ=WEEKLY;BYDAY=SU", name="Sunday patching")
    inside = fire(service, "inside", utc(2026, 10, 25, 2, 30))   # 03:30 CET, the second pass of the overlap
    outside = fire(service, "outside", utc(2026, 10, 25, 3))
    assert (inside.handling, inside.reason) == (Alert.SUPPRESSED, "maintenance window Sunday patching")
    assert outside.handling == Alert.PAGED


def test_count_and_utc_until_end_a_recurrence(service, make_service):
    other = make_service("Website", team="Web")
    window(service, datetime(2026, 3, 1, 1, 30), datetime(2026, 3, 1, 2, 30), time_zone="America/New_York",
           recurrence="FREQ=DAILY;COUNT=3")
    # UNTIL in UTC, as RFC 5545 wants it with a zoned start: 2026-03-03 06:30 UTC is 01:30 EST.
    window(other, datetime(2026, 3, 1, 1, 30), datetime(2026, 3, 1, 2, 30), time_zone="America/New_York",
           recurrence="FREQ=DAILY;UNTIL=20260303T063000Z")
    for service_ in (service, other):
        assert on(service_, utc(2026, 3, 3, 7)) != []
        assert on(service_, utc(2026, 3, 4, 7)) == []


def test_a_start_the_rule_skips_is_still_the_first_occurrence(service):
    window(service, datetime(2026, 3, 14, 2, 0), datetime(2026, 3, 14, 4, 0), time_zone="Europe/Berlin",
           recurrence="FREQ=WEEKLY;BYDAY=SU")  # a Saturday start, then Sundays (RFC 5545: DTSTART counts)
    assert on(service, utc(2026, 3, 14, 1, 30)) != [] and on(service, utc(2026, 3, 15, 1, 30)) != []


@pytest.mark.parametrize("fields, field", [
    ({"ends_at": utc(2026, 5, 4, 20)}, "ends_at"),
    ({"ends_at": utc(2026, 5, 4, 19)}, "ends_at"),
    ({"time_zone": "Europe/Atlantis"}, "time_zone"),
    ({"time_zone": "+02:00"}, "time_zone"),
    ({"recurrence": "FREQ=FORTNIGHTLY"}, "recurrence"),
    ({"recurrence": "FREQ=WEEKLY;BYDAY=XX"}, "recurrence"),
    ({"recurrence": "FREQ=WEEKLY;INTERVAL=0"}, "recurrence"),
    ({"recurrence": "BYDAY=SU"}, "recurrence"),
    ({"recurrence": "FREQ=MINUTELY"}, "recurrence"),
    ({"recurrence": "FREQ=DAILY\nFREQ=WEEKLY"}, "recurrence"),
    ({"services": []}, "services"),
    ({"services": [987654]}, "services"),
    ({"name": "  "}, "name"),
    ({"starts_at": "tomorrow"}, "starts_at"),
])
def test_bad_windows_are_refused_naming_the_field(service, fields, field):
    values = {"name": "Upgrade", "services": [service], "starts_at": utc(2026, 5, 4, 20),
              "ends_at": utc(2026, 5, 4, 22), **fields}
    with pytest.raises(ValidationError) as refused:
        create_window(actor=ADMIN, **values)
    assert field in refused.value.message_dict
    assert not MaintenanceWindow.objects.exists()


def test_creating_a_window_is_audited(service):
    created = window(service, datetime(2026, 3, 15, 2, 0), datetime(2026, 3, 15, 4, 0), time_zone="Europe/Berlin",
                     recurrence="FREQ=WEEKLY;BYDAY=SU")
    entry = AuditEntry.objects.get(action="alerts.maintenance.create")
    assert entry.object_id == str(created.pk)
    assert entry.summary["services"] == [service.pk] and entry.summary["recurrence"] == "FREQ=WEEKLY;BYDAY=SU"
    # A naive start and end are wall-clock times in the window's zone.
    assert (created.starts_at, created.ends_at) == (utc(2026, 3, 15, 1), utc(2026, 3, 15, 3))


def test_ending_a_one_off_window_lets_alerts_page_again(service):
    created = window(service, utc(2026, 5, 4, 20), utc(2026, 5, 4, 22))
    end_window(created, actor=ADMIN, at=utc(2026, 5, 4, 21))
    assert on(service, utc(2026, 5, 4, 20, 59)) == ["Database upgrade"]
    assert fire(service, "after", utc(2026, 5, 4, 21)).handling == Alert.PAGED
    assert AuditEntry.objects.filter(action="alerts.maintenance.end", object_id=str(created.pk)).exists()
    with pytest.raises(ValidationError) as refused:
        end_window(created, actor=ADMIN, at=utc(2026, 5, 4, 23))
    assert "ends_at" in refused.value.message_dict


def test_ending_a_window_that_has_not_begun_cancels_it(service):
    created = window(service, utc(2026, 5, 4, 20), utc(2026, 5, 4, 22))
    assert end_window(created, actor=ADMIN, at=utc(2026, 5, 1)) is None
    assert not MaintenanceWindow.objects.exists()
    assert AuditEntry.objects.filter(action="alerts.maintenance.cancel").exists()


def test_ending_a_recurring_window_mid_occurrence_stops_it_and_its_future(service):
    created = window(service, datetime(2026, 3, 15, 2, 0), datetime(2026, 3, 15, 4, 0), time_zone="Europe/Berlin",
                     recurrence="FREQ=WEEKLY;BYDAY=SU;COUNT=40")
    end_window(created, actor=ADMIN, at=utc(2026, 4, 5, 1))
    assert on(service, utc(2026, 4, 5, 1)) == []
    assert on(service, utc(2026, 4, 12, 1)) == []
    assert on(service, utc(2026, 3, 29, 1, 30)) != []  # history is kept
    # Ending during the very first occurrence leaves a one-off window.
    first = window(service, datetime(2026, 6, 7, 2, 0), datetime(2026, 6, 7, 4, 0), time_zone="Europe/Berlin",
                   recurrence="FREQ=WEEKLY;BYDAY=SU", name="June")
    first = end_window(first, actor=ADMIN, at=utc(2026, 6, 7, 1))
    assert (first.recurrence, first.ends_at) == ("", utc(2026, 6, 7, 1))
    assert on(service, utc(2026, 6, 7, 0, 30)) == ["June"] and on(service, utc(2026, 6, 14, 0, 30)) == []


def test_ending_a_recurring_window_between_occurrences_drops_the_future_ones(service):
    created = window(service, datetime(2026, 3, 15, 2, 0), datetime(2026, 3, 15, 4, 0), time_zone="Europe/Berlin",
                     recurrence="FREQ=WEEKLY;BYDAY=SU")
    end_window(created, actor=ADMIN, at=utc(2026, 4, 1))
    assert on(service, utc(2026, 3, 29, 1, 30)) != [] and on(service, utc(2026, 4, 5, 1)) == []


# Never early, never late: a daily window compared with a brute-force reading of the local clock.

def _first_instant_showing(wall, tz):
    """The first UTC minute at which clocks in `tz` show `wall` or later (found by walking)."""
    instant = wall.replace(tzinfo=UTC) - timedelta(hours=15)
    while instant.astimezone(tz).replace(tzinfo=None) < wall:
        instant += timedelta(minutes=1)
    return instant


def _expected_on(now, tz, hour, minute, length):
    today = now.astimezone(tz).date()
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        wall = datetime(day.year, day.month, day.day, hour, minute)
        if _first_instant_showing(wall, tz) <= now < _first_instant_showing(wall + length, tz):
            return True
    return False


# Starts and ends cluster in the hours DST skips or repeats; `now` is drawn near an occurrence's
# start or end on, or next to, a day the clocks change.
quarters = st.one_of(st.integers(0, 95), st.integers(4, 13))
CHANGES = {"Europe/Berlin": [date(2026, 3, 29), date(2026, 10, 25)],
           "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)]}


@given(zone_name=st.sampled_from(sorted(CHANGES)), change=st.integers(0, 1), day_shift=st.integers(-1, 1),
       quarter=quarters, length_quarters=st.one_of(st.integers(1, 8), st.integers(1, 80)),
       near_end=st.booleans(), seconds=st.integers(-2 * 3600, 2 * 3600))
def test_a_recurring_window_is_never_early_and_never_late(zone_name, change, day_shift, quarter, length_quarters,
                                                          near_end, seconds):
    tz = ZoneInfo(zone_name)
    hour, minute = divmod(quarter * 15, 60)
    length = timedelta(minutes=15 * length_quarters)
    first = datetime(2026, 2, 1, hour, minute)
    daily = MaintenanceWindow(name="nightly", time_zone=zone_name, recurrence="FREQ=DAILY",
                              starts_at=first.replace(tzinfo=tz), ends_at=(first + length).replace(tzinfo=tz))
    day = CHANGES[zone_name][change] + timedelta(days=day_shift)
    wall = datetime(day.year, day.month, day.day, hour, minute) + (length if near_end else timedelta(0))
    now = _first_instant_showing(wall, tz) + timedelta(seconds=seconds)
    assert (occurrence_at(daily, now) is not None) == _expected_on(now, tz, hour, minute, length)


def test_dates_beyond_the_supported_range_are_refused_by_name(db, service):
    from datetime import datetime, timezone as dt
    from django.core.exceptions import ValidationError
    from tocsin.alerts.services_maintenance import create_window
    from tocsin.core.audit import Actor
    with pytest.raises(ValidationError) as refused:
        create_window(actor=Actor.system("test"), name="Far off", services=[service], time_zone="Pacific/Kiritimati",
                      starts_at=datetime(9999, 12, 31, 20, tzinfo=dt.utc), ends_at=datetime(9999, 12, 31, 21, tzinfo=dt.utc),
                      recurrence="FREQ=DAILY")
    assert "starts_at" in refused.value.message_dict
