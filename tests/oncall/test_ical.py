"""D1 iCal: the exported feed says exactly what the timeline says, and imported RFC 5545
calendars (recurrences, exceptions, zones, all-day and floating times) become layers, or are
refused with a precise message and nothing saved."""

import json
import random
from datetime import UTC, date, datetime, time, timedelta

import icalendar
import pytest
import recurring_ical_events
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tocsin.core.models import AuditEntry
from tocsin.directory import services as directory
from tocsin.oncall import ical_export, ical_import, selectors, services
from tocsin.oncall.models import Layer

from .conftest import SYSTEM


def at(*args):
    return datetime(*args, tzinfo=UTC)


def calendar(*events, head=""):
    body = "".join(f"BEGIN:VEVENT\r\n{event.strip()}\r\nEND:VEVENT\r\n" for event in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{head}{body}END:VCALENDAR\r\n"


BERLIN = """BEGIN:VTIMEZONE\r
TZID:Europe/Berlin\r
BEGIN:DAYLIGHT\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r
TZNAME:CEST\r
DTSTART:19700329T020000\r
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r
END:DAYLIGHT\r
BEGIN:STANDARD\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
TZNAME:CET\r
DTSTART:19701025T030000\r
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r
END:STANDARD\r
END:VTIMEZONE\r
"""


def feed_text(sched, moment):
    """The schedule feed as a subscriber fetches it at `moment`."""
    _, secret = services.create_feed(actor=SYSTEM, created_by=_owner(), schedule=sched)
    with time_machine.travel(moment, tick=False):
        response = Client().get(f"/oncall/{sched.slug}/calendar.ics", {"token": secret})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return response.content


def _owner():
    from tocsin.core.models import User

    return User.objects.get_or_create(username="feed-owner")[0]


def from_feed(parsed, start, end):
    """(start, end, name) of the feed's events between two instants, clipped to them."""
    found = []
    for event in recurring_ical_events.of(parsed).between(start, end):
        begin, finish = max(event["DTSTART"].dt, start), min(event["DTEND"].dt, end)
        if begin < finish:
            found.append((begin, finish, str(event["SUMMARY"]).removeprefix("On call: ").rsplit(" (", 1)[0]))
    return sorted(found)


def from_timeline(sched, start, end):
    found, _ = selectors.final_shifts(sched, start, end)
    return sorted((s.start, s.end, s.person.name) for s in found)


# --- export ------------------------------------------------------------------------------


@pytest.fixture
def busy(schedule, layer, person):
    """Berlin schedule: a weekly base layer, a weekday-daytime layer above it, an override and
    an accepted swap, across the spring DST change of 29 March 2026."""
    ana, ben, chen, dora = (person(n) for n in ("Ana", "Ben", "Chen", "Dora"))
    sched = schedule(name="Network primary", time_zone="Europe/Berlin")
    layer(sched, [ana, ben], name="Base", rotation="weekly", handoff_time=time(9), start_date=date(2026, 3, 2))
    layer(sched, [chen], name="Daytime", rotation="daily", handoff_time=time(0), start_date=date(2026, 3, 2),
          restrictions=[{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}])
    services.add_override(sched, actor=SYSTEM, person=dora, starts_at=at(2026, 3, 28, 20),
                          ends_at=at(2026, 3, 29, 6), reason="Maintenance night")
    swap = services.request_swap(sched, actor=SYSTEM, requester=ana, counterpart=ben,
                                 starts_at=at(2026, 3, 21, 0), ends_at=at(2026, 3, 22, 0))
    services.accept_swap(swap, actor=SYSTEM)
    return sched


def test_feed_events_are_exactly_the_timeline_between_any_two_instants(busy):
    now = at(2026, 3, 20, 10, 30)
    text = feed_text(busy, now)
    parsed = icalendar.Calendar.from_ical(text)
    assert str(parsed["X-WR-CALNAME"]) == "Network primary on call"
    assert str(parsed["PRODID"]) == ical_export.PRODID
    events = parsed.walk("VEVENT")
    assert all("DTSTAMP" in e and e["DTSTART"].to_ical().endswith(b"Z") and e["DTEND"].to_ical().endswith(b"Z")
               for e in events)
    assert len({str(e["UID"]) for e in events}) == len(events)
    assert b"DTSTART:20260330T070000Z" in text  # the Monday 09:00 Berlin handoff, in summer time

    first, last = ical_export.window(now)
    seam = first + (last - first) / 2
    pairs = [
        (first, first + timedelta(days=366)),
        (at(2026, 3, 27), at(2026, 4, 3)),  # the DST change, the override and the swap's week
        (at(2026, 3, 21, 3, 17), at(2026, 3, 29, 1, 0, 1)),
        (seam - timedelta(days=3, hours=5), seam + timedelta(days=2, minutes=7)),  # across the seam
        (last - timedelta(days=366), last),
    ]
    rng = random.Random(5545)
    span = int((last - first).total_seconds())
    for _ in range(6):
        a, b = sorted(rng.randrange(span) for _ in range(2))
        pairs.append((first + timedelta(seconds=a), first + timedelta(seconds=min(b, a + 366 * 86400) + 1)))
    for start, end in pairs:
        assert from_feed(parsed, start, end) == from_timeline(busy, start, end), (start, end)


def test_feed_says_where_each_shift_comes_from(busy):
    parsed = icalendar.Calendar.from_ical(feed_text(busy, at(2026, 3, 20, 10, 30)))
    described = {str(e["SUMMARY"]): [] for e in parsed.walk("VEVENT")}
    for event in parsed.walk("VEVENT"):
        described[str(event["SUMMARY"])].append(str(event.get("DESCRIPTION", "")))
    assert "Layer: Base" in described["On call: Ana (Network primary)"]
    assert "Layer: Daytime" in described["On call: Chen (Network primary)"]
    assert any(d.startswith("Override #") for d in described["On call: Dora (Network primary)"])
    assert any(d.startswith("Shift swap #") for d in described["On call: Ben (Network primary)"])


def test_feed_window_runs_from_a_week_ago_to_a_year_ahead_and_uids_hold_all_day(busy):
    morning = icalendar.Calendar.from_ical(feed_text(busy, at(2026, 3, 20, 0, 5)))
    evening = icalendar.Calendar.from_ical(feed_text(busy, at(2026, 3, 20, 23, 55)))
    uids = [str(e["UID"]) for e in morning.walk("VEVENT")]
    assert uids == [str(e["UID"]) for e in evening.walk("VEVENT")]
    starts = [e["DTSTART"].dt for e in morning.walk("VEVENT")]
    ends = [e["DTEND"].dt for e in morning.walk("VEVENT")]
    assert min(starts) == at(2026, 3, 13) and max(ends) == at(2027, 3, 21)
    assert any(s >= at(2027, 3, 14) for s in starts)  # still shifts a year ahead


def test_delegation_shows_in_description_and_in_the_delegates_personal_feed(schedule, layer, person):
    ana, ben = person("Ana"), person("Ben")
    sched = schedule(time_zone="UTC")
    layer(sched, [ana], rotation="daily", handoff_time=time(0), start_date=date(2026, 3, 1))
    directory.delegate(ana, ben, actor=SYSTEM, starts_at=at(2026, 3, 21), ends_at=at(2026, 3, 22))
    body = ical_export.person_calendar(ben, at(2026, 3, 20, 12))
    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert [(e["DTSTART"].dt, e["DTEND"].dt) for e in events] == [(at(2026, 3, 21), at(2026, 3, 22))]
    assert "Delegated from: Ana" in str(events[0]["DESCRIPTION"])


def test_personal_feed_has_that_persons_shifts_across_schedules(schedule, layer, person):
    ana, ben = person("Ana"), person("Ben")
    one = schedule(name="One", time_zone="UTC")
    two = schedule(name="Two", time_zone="Europe/Berlin")
    layer(one, [ana, ben], rotation="daily", handoff_time=time(0), start_date=date(2026, 3, 1))
    layer(two, [ben], rotation="weekly", handoff_time=time(9), start_date=date(2026, 3, 2))
    services.add_override(two, actor=SYSTEM, person=ana, starts_at=at(2026, 3, 25), ends_at=at(2026, 3, 26))
    _, secret = services.create_feed(actor=SYSTEM, created_by=_owner(), person=ana)
    with time_machine.travel(at(2026, 3, 20, 12), tick=False):
        response = Client().get(f"/oncall/people/{ana.pk}/calendar.ics", {"token": secret})
    assert response.status_code == 200 and response["Content-Type"] == "text/calendar; charset=utf-8"
    parsed = icalendar.Calendar.from_ical(response.content)
    assert str(parsed["X-WR-CALNAME"]) == "On call: Ana"
    summaries = {str(e["SUMMARY"]) for e in parsed.walk("VEVENT")}
    assert summaries == {"On call: Ana (One)", "On call: Ana (Two)"}
    start, end = at(2026, 3, 13), at(2026, 4, 13)
    expected = sorted(
        [s for s in from_timeline(one, start, end) if s[2] == "Ana"]
        + [s for s in from_timeline(two, start, end) if s[2] == "Ana"])
    assert from_feed(parsed, start, end) == expected


def test_one_year_of_a_calendar_layer_survives_the_horizon(schedule, person):
    """A 373-day feed is computed in two halves; the imported calendar's last week is there."""
    ana = person("Ana")
    sched = schedule(time_zone="UTC")
    with time_machine.travel(at(2026, 1, 1), tick=False):
        services.import_calendar_layer(sched, actor=SYSTEM, name="Imported", source_text=calendar(
            "DTSTART:20260105T000000Z\r\nDTEND:20260106T000000Z\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:Ana"))
    body = ical_export.schedule_calendar(sched, at(2026, 1, 10, 8))
    starts = [e["DTSTART"].dt for e in icalendar.Calendar.from_ical(body).walk("VEVENT")]
    # The window is [3 Jan 2026, 11 Jan 2027); one horizon from its start ends on 4 Jan 2027.
    assert starts[0] == at(2026, 1, 5) and starts[-1] == at(2027, 1, 4)
    assert all(b - a == timedelta(weeks=1) for a, b in zip(starts, starts[1:]))
    assert ana.name == "Ana"


# --- import ------------------------------------------------------------------------------


@pytest.fixture
def crew(person, make_user):
    ana, ben, chen = person("Ana Silva"), person("Ben Okafor"), person("Chen Wei")
    # Attendees match login e-mails only; Ben's contact e-mail must never identify him.
    directory.update_person(ana, actor=SYSTEM, source="cli", user=make_user("ana", email="Ana.Silva@Example.org"))
    login = make_user("ben", email="ben@example.net")
    directory.update_person(ben, actor=SYSTEM, source="cli", user=login)
    directory.add_method(actor=SYSTEM, source="cli", person=ben, kind="email", value="Ben.Private@Example.org")
    return {"ana": ana, "ben": ben, "chen": chen}


def names_at(sched, moment):
    return [entry.person.name for entry in selectors.oncall_at(sched, moment)]


def test_import_maps_attendees_and_names_and_follows_the_rfc(schedule, crew):
    sched = schedule(time_zone="Europe/Berlin")
    source = calendar(
        # Weekly Monday day shifts in Berlin time across the DST change, one skipped, one moved.
        "UID:weekly\r\nDTSTART;TZID=Europe/Berlin:20260316T090000\r\nDTEND;TZID=Europe/Berlin:20260316T170000\r\n"
        "RRULE:FREQ=WEEKLY;COUNT=6\r\nEXDATE;TZID=Europe/Berlin:20260406T090000\r\n"
        "ATTENDEE;CN=Ana:MAILTO:ANA.SILVA@example.org\r\nSUMMARY:Primary",
        "UID:weekly\r\nRECURRENCE-ID;TZID=Europe/Berlin:20260413T090000\r\n"
        "DTSTART;TZID=Europe/Berlin:20260414T100000\r\nDTEND;TZID=Europe/Berlin:20260414T120000\r\n"
        "ATTENDEE:mailto:ben@example.net\r\nSUMMARY:Primary",
        "UID:allday\r\nDTSTART;VALUE=DATE:20260404\r\nDTEND;VALUE=DATE:20260405\r\nSUMMARY:chen wei",
        "UID:floating\r\nDTSTART:20260405T100000\r\nDTEND:20260405T120000\r\nSUMMARY:BEN OKAFOR",
        head=BERLIN,
    )
    with time_machine.travel(at(2026, 3, 1), tick=False):
        layer = services.import_calendar_layer(sched, actor=SYSTEM, source_text=source, name="From Outlook")
    assert layer.rotation == Layer.CALENDAR and layer.level == 1 and layer.start_date == date(2026, 3, 16)
    assert layer.calendar_people == {"mailto:ana.silva@example.org": crew["ana"].pk,
                                     "mailto:ben@example.net": crew["ben"].pk,
                                     "chen wei": crew["chen"].pk, "ben okafor": crew["ben"].pk}
    assert names_at(sched, at(2026, 3, 16, 8)) == ["Ana Silva"]  # 09:00 CET
    assert names_at(sched, at(2026, 3, 23, 7, 59)) == []
    assert names_at(sched, at(2026, 3, 30, 7)) == ["Ana Silva"]  # 09:00 CEST
    assert names_at(sched, at(2026, 3, 30, 15)) == []  # 17:00 CEST
    assert names_at(sched, at(2026, 4, 6, 10)) == []  # EXDATE
    assert names_at(sched, at(2026, 4, 13, 8)) == []  # moved by RECURRENCE-ID …
    assert names_at(sched, at(2026, 4, 14, 8, 30)) == ["Ben Okafor"]  # … to Tuesday 10:00 CEST
    assert names_at(sched, at(2026, 4, 20, 7)) == ["Ana Silva"]
    assert names_at(sched, at(2026, 4, 27, 7)) == []  # COUNT=6 with one moved and one excluded
    assert names_at(sched, at(2026, 4, 3, 22)) == ["Chen Wei"]  # all-day: midnight Berlin
    assert names_at(sched, at(2026, 4, 4, 21, 59)) == ["Chen Wei"]
    assert names_at(sched, at(2026, 4, 4, 22)) == []
    assert names_at(sched, at(2026, 4, 5, 8)) == ["Ben Okafor"]  # floating 10:00, read in Berlin
    assert names_at(sched, at(2026, 4, 5, 9, 59)) == ["Ben Okafor"]
    found, _ = selectors.shifts(sched, at(2026, 3, 29), at(2026, 3, 31))
    assert [(s.start, s.end) for s in found] == [(at(2026, 3, 30, 7), at(2026, 3, 30, 15))]
    entry = AuditEntry.objects.filter(action="oncall.layer.imported").get()
    assert entry.summary["events"] == 4 and entry.summary["replaced"] is False


def test_endless_rule_is_expanded_within_the_horizon(schedule, crew):
    sched = schedule(time_zone="Europe/Berlin")
    with time_machine.travel(at(2026, 1, 2), tick=False):
        services.import_calendar_layer(sched, actor=SYSTEM, name="Weekends", source_text=calendar(
            "DTSTART;VALUE=DATE:20260103\r\nDTEND;VALUE=DATE:20260105\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:Chen Wei"))
    assert names_at(sched, at(2026, 12, 5, 12)) == ["Chen Wei"]  # 11 months later
    assert names_at(sched, at(2026, 12, 7, 12)) == []
    found, gaps = selectors.shifts(sched, at(2026, 1, 2), at(2026, 1, 2) + timedelta(days=366))
    assert len(found) == 53 and len(gaps) == 53  # every weekend, the gaps before each
    assert found[-1].start == at(2027, 1, 1, 23)  # Saturday 2 January 2027, midnight in Berlin


def test_replacing_the_source_keeps_the_layer_and_reads_the_new_calendar(schedule, crew):
    sched = schedule(time_zone="UTC")
    first = services.import_calendar_layer(sched, actor=SYSTEM, name="Cal", source_text=calendar(
        "DTSTART:20260105T000000Z\r\nDTEND:20260106T000000Z\r\nSUMMARY:Ana Silva"))
    assert names_at(sched, at(2026, 1, 5, 12)) == ["Ana Silva"]
    again = services.import_calendar_layer(sched, actor=SYSTEM, name="Cal 2", layer=first, source_text=calendar(
        "DTSTART:20260105T000000Z\r\nDTEND:20260106T000000Z\r\nSUMMARY:Chen Wei"))
    assert again.pk == first.pk and again.level == first.level and sched.layers.count() == 1
    assert names_at(sched, at(2026, 1, 5, 12)) == ["Chen Wei"]
    assert AuditEntry.objects.filter(action="oncall.layer.imported").last().summary["replaced"] is True


def test_only_an_imported_layer_of_this_schedule_can_be_replaced(schedule, layer, crew):
    sched, other = schedule(name="A"), schedule(name="B")
    rotation = layer(sched, [crew["ana"]], rotation="daily")
    imported = services.import_calendar_layer(other, actor=SYSTEM, name="Cal", source_text=calendar(
        "DTSTART:20260105T000000Z\r\nDTEND:20260106T000000Z\r\nSUMMARY:Ana Silva"))
    for target in (rotation, imported):
        with pytest.raises(ValidationError) as caught:
            services.import_calendar_layer(sched, actor=SYSTEM, name="X", layer=target, source_text=calendar(
                "DTSTART:20260105T000000Z\r\nDTEND:20260106T000000Z\r\nSUMMARY:Ana Silva"))
        assert "layer" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.import_calendar_layer(sched, actor=SYSTEM, name="X", level=rotation.level, source_text=calendar(
            "DTSTART:20260105T000000Z\r\nDTEND:20260106T000000Z\r\nSUMMARY:Ana Silva"))
    assert "level" in caught.value.message_dict


def _many(count, summary="Ana Silva"):
    return calendar(*[f"DTSTART:20260105T{i % 24:02}0000Z\r\nSUMMARY:{summary}" for i in range(count)])


OVER_ONE_MIB = calendar("DTSTART:20260105T000000Z\r\nSUMMARY:Ana Silva\r\nDESCRIPTION:" + "x" * (1024 * 1024))


@pytest.mark.parametrize("source, message", [
    ("hello world", "line 1: 'hello world' is not an iCalendar line"),
    ("", "The calendar is empty."),
    (calendar("DTSTART:20260105T000000Z\r\nSUMMARY:Ana Silva").replace("SUMMARY:Ana", "SUMMARY Ana"),
     "line 6: 'SUMMARY Ana Silva' is not an iCalendar line"),
    (calendar("DTSTART:20260105T000000Z\r\nSUMMARY:Ana Silva").replace("END:VEVENT", "END:VTODO"),
     "line 7: END:VTODO does not close BEGIN:VEVENT of line 4."),
    (calendar("DTSTART:20260105T000000Z\r\nSUMMARY:Ana Silva").replace("END:VCALENDAR\r\n", ""),
     "line 1: BEGIN:VCALENDAR is never closed."),
    ("BEGIN:VEVENT\r\nDTSTART:20260105T000000Z\r\nEND:VEVENT\r\n", "line 1: expected BEGIN:VCALENDAR"),
    (calendar() + calendar(), "line 5: a second calendar begins here"),
    (calendar(), "The calendar has no events (VEVENT)."),
    (OVER_ONE_MIB, "over 1 MiB"),
    (_many(10_001), "more than 10,000 events"),
    (calendar("DTSTART:20260105T000000Z\r\nSUMMARY:Ana Silva", "SUMMARY:Ana Silva"),
     "line 8: the event has no DTSTART."),
    (calendar("DTSTART:2026XX05T000000Z\r\nSUMMARY:Ana Silva"), "line 4: DTSTART: Wrong datetime format"),
    (calendar("DTSTART:20260105T000000Z\r\nRRULE:FREQ=SOMETIMES\r\nSUMMARY:Ana Silva"), "line 4: RRULE: "),
    (calendar("DTSTART:20260105T000000Z\r\nRRULE:FREQ=MINUTELY\r\nSUMMARY:Ana Silva"),
     "line 4: RRULE FREQ=MINUTELY repeats more often than hourly"),
    (calendar("DTSTART;TZID=Mars/Olympus:20260105T000000\r\nSUMMARY:Ana Silva"),
     "line 4: DTSTART names the time zone 'Mars/Olympus', which is neither known nor given by a VTIMEZONE."),
    (calendar("DTSTART:20260105T000000Z\r\nDTEND:20260104T000000Z\r\nSUMMARY:Ana Silva"),
     "line 4: the event ends (DTEND) before it starts (DTSTART)."),
    (calendar("DTSTART:20260105T000000Z"), "line 4: the event names nobody"),
    (calendar(*[f"DTSTART:20260105T000000Z\r\nSUMMARY:Stranger {i:02}" for i in range(12)],
              "DTSTART:20260105T000000Z\r\nSUMMARY:Ana Silva", "DTSTART:20260105T000000Z\r\nATTENDEE:mailto:x@y.org"),
     "13 events name no active person: 'stranger 00', 'stranger 01', 'stranger 02', 'stranger 03', "
     "'stranger 04', 'stranger 05', 'stranger 06', 'stranger 07', 'stranger 08', 'stranger 09' and 3 more."),
])
def test_bad_calendars_are_refused_precisely_and_nothing_is_saved(schedule, crew, source, message):
    sched = schedule(time_zone="UTC")
    audited = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as caught:
        services.import_calendar_layer(sched, actor=SYSTEM, name="Cal", source_text=source)
    assert list(caught.value.message_dict) == ["calendar"]
    assert message in caught.value.message_dict["calendar"][0]
    assert not sched.layers.exists() and AuditEntry.objects.count() == audited


def test_a_flood_of_occurrences_in_the_year_ahead_is_refused(schedule, crew, monkeypatch):
    monkeypatch.setattr(ical_import, "MAX_OCCURRENCES", 100)  # the real cap, 10,000, takes seconds to reach
    sched = schedule(time_zone="UTC")
    with time_machine.travel(at(2026, 1, 1), tick=False):
        with pytest.raises(ValidationError) as caught:
            services.import_calendar_layer(sched, actor=SYSTEM, name="Cal", source_text=calendar(
                "DTSTART:20260105T000000Z\r\nDTEND:20260105T010000Z\r\nRRULE:FREQ=HOURLY;INTERVAL=12\r\n"
                "SUMMARY:Ana Silva"))
        assert "recur more than 100 times in the year ahead" in caught.value.message_dict["calendar"][0]
        services.import_calendar_layer(sched, actor=SYSTEM, name="Cal", source_text=calendar(
            "DTSTART:20260105T000000Z\r\nDTEND:20260105T010000Z\r\nRRULE:FREQ=WEEKLY\r\nSUMMARY:Ana Silva"))
    assert sched.layers.count() == 1


def test_names_shared_by_two_people_and_deactivated_people_are_refused(schedule, crew, person):
    sched = schedule(time_zone="UTC")
    person("ana silva")
    with pytest.raises(ValidationError) as caught:
        services.import_calendar_layer(sched, actor=SYSTEM, name="Cal", source_text=calendar(
            "DTSTART:20260105T000000Z\r\nSUMMARY:Ana Silva"))
    assert "1 event names more than one person: 'ana silva'" in caught.value.messages[0]
    directory.deactivate_person(crew["chen"], actor=SYSTEM, source="cli")
    with pytest.raises(ValidationError) as caught:
        services.import_calendar_layer(sched, actor=SYSTEM, name="Cal", source_text=calendar(
            "DTSTART:20260105T000000Z\r\nSUMMARY:Chen Wei"))
    assert "1 event names no active person: 'chen wei'." == caught.value.messages[0]


# --- the API and the form ----------------------------------------------------------------


@pytest.fixture
def network(make_team):
    return make_team("Network")


def test_api_imports_and_answers_400_naming_the_field(schedule, crew, network, make_user, bearer):
    sched = schedule(time_zone="UTC", team=network)
    client = bearer(make_user("resp", roles=["responder"], teams=["network"]))
    url = f"/api/v1/schedules/{sched.pk}/calendar-import"
    good = calendar("DTSTART:20260105T000000Z\r\nDTEND:20260106T000000Z\r\nSUMMARY:Ana Silva")
    response = client.post(url, {"name": "Cal", "calendar": good}, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["rotation"] == "calendar" and body["people"] == [crew["ana"].pk] and body["level"] == 1
    again = client.post(url, {"name": "Cal", "calendar": good, "layer_id": body["id"], "level": 4},
                        content_type="application/json")
    assert again.status_code == 201 and again.json()["level"] == 4 and again.json()["id"] == body["id"]
    bad = client.post(url, {"name": "Cal", "calendar": calendar()}, content_type="application/json")
    assert bad.status_code == 400 and "no events" in bad.json()["errors"]["calendar"][0]
    missing = client.post(url, {"name": "Cal", "calendar": good, "layer_id": 999999},
                          content_type="application/json")
    assert missing.status_code == 400 and "layer_id" in missing.json()["errors"]


def test_api_refuses_ten_thousand_and_one_events_in_a_body_under_one_mib(schedule, crew, make_user, bearer):
    sched = schedule(time_zone="UTC")
    payload = json.dumps({"name": "Cal", "calendar": _many(10_001).replace("\r\n", "\n")})
    assert len(payload.encode()) < 1024 * 1024
    response = bearer(make_user("root", roles=["admin"])).post(
        f"/api/v1/schedules/{sched.pk}/calendar-import", payload, content_type="application/json")
    assert response.status_code == 400
    assert "more than 10,000 events" in response.json()["errors"]["calendar"][0]
    assert not sched.layers.exists()


def test_api_import_needs_oncall_manage_over_the_schedules_team(schedule, crew, network, make_team, make_user,
                                                                bearer):
    make_team("Database")
    sched = schedule(time_zone="UTC", team=network)
    loose = schedule(name="Teamless", time_zone="UTC")
    good = {"name": "Cal", "calendar": calendar("DTSTART:20260105T000000Z\r\nSUMMARY:Ana Silva")}
    viewer = bearer(make_user("vera", roles=["viewer"]))
    other = bearer(make_user("dba", roles=["responder"], teams=["database"]))
    member = bearer(make_user("net", roles=["responder"], teams=["network"]))
    for client, target, status in ((viewer, sched, 403), (other, sched, 403), (member, loose, 403),
                                   (member, sched, 201)):
        response = client.post(f"/api/v1/schedules/{target.pk}/calendar-import", good,
                               content_type="application/json")
        assert response.status_code == status, response.content


def _browser(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


def test_upload_form_imports_a_file_or_pasted_text(schedule, crew, make_user):
    sched = schedule(time_zone="UTC")
    client = _browser(make_user("root", roles=["admin"]))
    url = f"/oncall/{sched.slug}/import/"
    assert client.get(url).status_code == 200
    source = calendar("DTSTART:20260105T000000Z\r\nDTEND:20260106T000000Z\r\nSUMMARY:Ana Silva")
    upload = SimpleUploadedFile("team.ics", source.encode(), content_type="text/calendar")
    response = client.post(url, {"name": "Outlook", "file": upload})
    assert response.status_code == 302
    layer = sched.layers.get()
    assert layer.name == "Outlook" and layer.calendar == source
    response = client.post(url, {"name": "Pasted", "calendar": source, "layer": layer.pk})
    assert response.status_code == 302 and sched.layers.get().name == "Pasted"
    response = client.post(url, {"name": "Nothing"})
    assert response.status_code == 200 and b"Choose a file or paste a calendar." in response.content


def test_upload_form_refuses_over_one_mib_and_needs_csrf_and_oncall_manage(schedule, crew, make_user, settings):
    sched = schedule(time_zone="UTC")
    url = f"/oncall/{sched.slug}/import/"
    admin = make_user("root", roles=["admin"])
    big = SimpleUploadedFile("big.ics", OVER_ONE_MIB.encode(), content_type="text/calendar")
    assert _browser(admin).post(url, {"name": "Big", "file": big}).status_code == 413  # the body limit
    settings.TOCSIN_MAX_BODY_BYTES = 4 * 1024 * 1024  # past the body limit, the import's own limit holds
    big.seek(0)
    response = _browser(admin).post(url, {"name": "Big", "file": big})
    assert response.status_code == 200 and b"over 1 MiB" in response.content
    assert not sched.layers.exists()
    guarded = _browser(admin, enforce_csrf_checks=True)
    assert guarded.post(url, {"name": "X", "calendar": "x"}).status_code == 403
    viewer = _browser(make_user("vera", roles=["viewer"]))
    assert viewer.get(url).status_code == 403
    assert not sched.layers.exists()
