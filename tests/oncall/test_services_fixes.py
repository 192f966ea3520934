"""Review fixes to the on-call services: stable slugs, layer kinds and levels, swaps that re-check
the shifts they hand over, attendee matching without contact values, the calendar parse cache
and announcement retention."""

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tocsin.core import retention
from tocsin.directory import services as directory
from tocsin.oncall import feeds, loading, selectors, services
from tocsin.oncall.models import Announcement, Layer, Override, Schedule, ShiftSwap
from tocsin.oncall.rotation import parse_clock

from .conftest import SYSTEM


def at(*args):
    return datetime(*args, tzinfo=UTC)


def calendar(summary, day="20260105"):
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
            f"DTSTART:{day}T000000Z\r\nDTEND:{day}T120000Z\r\n{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def names_at(sched, moment):
    return [entry.person.name for entry in selectors.oncall_at(sched, moment)]


# --- 2. a renamed schedule keeps its address ------------------------------------------------


def test_renaming_keeps_the_slug_so_calendar_subscriptions_keep_working(schedule, make_user):
    sched = schedule(name="Network primary")
    _, secret = feeds.issue(schedule=sched, created_by=make_user("vera", roles=["viewer"]))
    url = f"/oncall/{sched.slug}/calendar.ics"
    assert url == "/oncall/network-primary/calendar.ics" and Client().get(url, {"token": secret}).status_code == 200
    services.update_schedule(sched, actor=SYSTEM, name="Network first line")
    sched.refresh_from_db()
    assert sched.name == "Network first line" and sched.slug == "network-primary"
    assert Client().get(url, {"token": secret}).status_code == 200
    # The old name is free again; its new schedule gets an address of its own.
    newcomer = schedule(name="Network primary")
    assert newcomer.slug == "network-primary-2"
    with pytest.raises(ValidationError) as caught:
        services.update_schedule(newcomer, actor=SYSTEM, name="Network first line")
    assert "exists already" in caught.value.message_dict["name"][0]


# --- 3. a layer keeps its kind --------------------------------------------------------------


def test_a_calendar_layer_cannot_become_a_rotation_nor_a_rotation_a_calendar(schedule, layer, person):
    sched, ana = schedule(time_zone="UTC"), person("Ana Silva")
    imported = services.import_calendar_layer(sched, actor=SYSTEM, name="Cal", source_text=calendar("SUMMARY:Ana Silva"))
    rotation = layer(sched, [ana], rotation="weekly")
    with pytest.raises(ValidationError) as caught:
        services.update_layer(imported, actor=SYSTEM, participants=[], rotation="weekly")
    assert "cannot become a rotation" in caught.value.message_dict["rotation"][0]
    with pytest.raises(ValidationError) as caught:
        services.update_layer(rotation, actor=SYSTEM, rotation="calendar")
    assert "rotation" in caught.value.message_dict
    stored = Layer.objects.get(pk=imported.pk)
    assert stored.rotation == Layer.CALENDAR and stored.calendar.startswith("BEGIN:VCALENDAR")
    assert Layer.objects.get(pk=rotation.pk).rotation == Layer.WEEKLY
    with pytest.raises(ValidationError) as caught:
        services.add_layer(sched, actor=SYSTEM, name="Empty", start_date=date(2026, 1, 5), rotation="calendar")
    assert "rotation" in caught.value.message_dict


def test_changing_the_rotation_kind_needs_participants(schedule, layer, person):
    sched, ana = schedule(time_zone="UTC"), person("Ana")
    weekly = layer(sched, [ana], rotation="weekly")
    services.update_layer(weekly, actor=SYSTEM, rotation="daily")
    assert Layer.objects.get(pk=weekly.pk).rotation == Layer.DAILY
    weekly.participants.all().delete()  # as if its only participant had been erased
    with pytest.raises(ValidationError) as caught:
        services.update_layer(weekly, actor=SYSTEM, rotation="weekly")
    assert caught.value.message_dict == {"participants": ["A rotation needs at least one participant."]}
    assert Layer.objects.get(pk=weekly.pk).rotation == Layer.DAILY


# --- 4. a swap takes effect only while its shifts are still held -----------------------------


@pytest.fixture
def crew(schedule, layer, person):
    sched = schedule(time_zone="UTC")
    ana, ben, chen = person("Ana"), person("Ben"), person("Chen")
    layer(sched, [ana, ben], rotation="daily", handoff_time=time(9), start_date=date(2026, 1, 5))
    return sched, ana, ben, chen


def test_accepting_refuses_when_the_requester_no_longer_holds_the_shift(crew):
    sched, ana, ben, chen = crew
    first, second = (services.request_swap(sched, actor=SYSTEM, requester=ana, counterpart=other,
                                           starts_at=at(2026, 1, 5, 9), ends_at=at(2026, 1, 6, 9))
                     for other in (ben, chen))
    services.accept_swap(first, actor=SYSTEM)
    with pytest.raises(ValidationError) as caught:
        services.accept_swap(second, actor=SYSTEM)
    assert caught.value.message_dict == {
        "starts_at": ["Ana is no longer on call then; the swap cannot take effect."]}
    assert ShiftSwap.objects.get(pk=second.pk).status == ShiftSwap.PENDING
    assert not Override.objects.filter(swap=second).exists()
    assert names_at(sched, at(2026, 1, 5, 12)) == ["Ben"]


def test_accepting_refuses_when_the_counterpart_no_longer_holds_the_return_shift(crew):
    sched, ana, ben, chen = crew
    swap = services.request_swap(sched, actor=SYSTEM, requester=ana, counterpart=ben,
                                 starts_at=at(2026, 1, 5, 9), ends_at=at(2026, 1, 6, 9),
                                 return_starts_at=at(2026, 1, 6, 9), return_ends_at=at(2026, 1, 7, 9))
    services.add_override(sched, actor=SYSTEM, person=chen, replaces=ben,
                          starts_at=at(2026, 1, 6, 9), ends_at=at(2026, 1, 7, 9))
    with pytest.raises(ValidationError) as caught:
        services.accept_swap(swap, actor=SYSTEM)
    assert caught.value.message_dict == {
        "return_starts_at": ["Ben is no longer on call then; the swap cannot take effect."]}
    assert ShiftSwap.objects.get(pk=swap.pk).status == ShiftSwap.PENDING
    assert not Override.objects.filter(swap=swap).exists()
    services.decline_swap(swap, actor=SYSTEM)  # declining needs no shift
    assert ShiftSwap.objects.get(pk=swap.pk).status == ShiftSwap.DECLINED


# --- 5. attendees match login e-mails, never contact values ----------------------------------


def test_an_attendee_is_matched_by_login_email_and_never_by_a_contact_email(schedule, person, make_user):
    sched = schedule(time_zone="UTC")
    ana, ben = person("Ana"), person("Ben")
    directory.add_method(actor=SYSTEM, source="cli", person=ana, kind="email", value="ana.private@example.org")
    directory.update_person(ben, actor=SYSTEM, source="cli", user=make_user("ben", email="Ben@Example.org"))
    with pytest.raises(ValidationError) as caught:
        services.import_calendar_layer(sched, actor=SYSTEM, name="Cal",
                                       source_text=calendar("ATTENDEE:mailto:ana.private@example.org"))
    assert caught.value.message_dict == {
        "calendar": ["1 event names no active person: 'mailto:ana.private@example.org'."]}
    assert not sched.layers.exists()
    imported = services.import_calendar_layer(sched, actor=SYSTEM, name="Cal",
                                              source_text=calendar("ATTENDEE:MAILTO:ben@example.ORG"))
    assert imported.calendar_people == {"mailto:ben@example.org": ben.pk}


# --- 6. the calendar text is read only when its parse is not cached --------------------------

CALENDAR_COLUMN = re.compile(r'"calendar"(?!_)')


def _calendar_reads(run):
    with CaptureQueriesContext(connection) as captured:
        result = run()
    return sum(1 for query in captured if CALENDAR_COLUMN.search(query["sql"])), result


def test_who_is_on_call_reads_calendar_text_only_on_a_cache_miss(schedule, person):
    assert "calendar" not in loading.LAYER_COLUMNS
    sched, _ = schedule(time_zone="UTC"), person("Ana")
    services.import_calendar_layer(sched, actor=SYSTEM, name="Cal", source_text=calendar("SUMMARY:Ana"))
    Layer.objects.filter(schedule=sched).update(updated_at=timezone.now() + timedelta(seconds=1))  # a cold cache
    assert _calendar_reads(lambda: names_at(sched, at(2026, 1, 5, 6))) == (1, ["Ana"])
    assert _calendar_reads(lambda: names_at(sched, at(2026, 1, 5, 6))) == (0, ["Ana"])


def test_a_calendar_edit_is_seen_at_once(schedule, person):
    sched, ana, _ = schedule(time_zone="UTC"), person("Ana"), person("Ben")
    with time_machine.travel(at(2026, 1, 1), tick=False):  # both imports in one clock tick
        imported = services.import_calendar_layer(sched, actor=SYSTEM, name="Cal", source_text=calendar("SUMMARY:Ana"))
        assert names_at(sched, at(2026, 1, 5, 6)) == ["Ana"]
        services.import_calendar_layer(sched, actor=SYSTEM, name="Cal", layer=imported,
                                       source_text=calendar("SUMMARY:Ben"))
        assert names_at(sched, at(2026, 1, 5, 6)) == ["Ben"]
    # Another process's edit: the row changes under this process's cache, which must not hide it.
    Layer.objects.filter(pk=imported.pk).update(calendar=calendar("SUMMARY:Ana"), calendar_people={"ana": ana.pk},
                                                updated_at=at(2026, 1, 2))
    assert names_at(sched, at(2026, 1, 5, 6)) == ["Ana"]


# --- 8. announcements are kept for 30 days ---------------------------------------------------


def test_old_announcements_are_purged_but_progress_and_open_gaps_are_kept(schedule):
    sched, now = schedule(), at(2026, 6, 1)
    old, recent = now - timedelta(days=31), now - timedelta(days=29)

    def announced(kind, key, when, until=None):
        return Announcement.objects.create(schedule=sched, kind=kind, key=key, at=when, until=until).pk

    gone = {announced(Announcement.SHIFT_STARTED, "shift:old", old), announced(Announcement.HANDOFF, "handoff:old", old),
            announced(Announcement.GAP_FOUND, "gap:closed", old, until=old + timedelta(hours=2))}
    kept = {announced(Announcement.SHIFT_STARTED, "shift:recent", recent),
            announced(Announcement.CHECKED, f"checked:{sched.pk}", old),
            announced(Announcement.GAP_FOUND, "gap:open", old, until=now + timedelta(days=3))}
    record_type = retention.record_types()["oncall.announcements"]
    assert record_type.default_days == 30
    assert retention.run(actor=SYSTEM, dry_run=True, now=now)["oncall.announcements"] == 3
    assert retention.run(actor=SYSTEM, now=now)["oncall.announcements"] == 3
    assert set(Announcement.objects.values_list("pk", flat=True)) == kept
    assert not Announcement.objects.filter(pk__in=gone).exists()


# --- 9. levels from 1 to 1000, and one HH:MM parser -------------------------------------------


def test_layer_levels_run_from_1_to_1000_everywhere(schedule, layer, person):
    sched, ana = schedule(time_zone="UTC"), person("Ana Silva")
    for bad in (0, 1001, 32767, True, "3"):
        with pytest.raises(ValidationError) as caught:
            layer(sched, [ana], level=bad)
        assert caught.value.message_dict == {"level": ["The level must be a whole number from 1 to 1000."]}
        with pytest.raises(ValidationError) as caught:
            services.import_calendar_layer(sched, actor=SYSTEM, name="Cal", level=bad,
                                           source_text=calendar("SUMMARY:Ana Silva"))
        assert list(caught.value.message_dict) == ["level"]
    top = layer(sched, [ana], level=1000)
    with pytest.raises(ValidationError) as caught:
        layer(sched, [ana])  # the next level would be 1001
    assert list(caught.value.message_dict) == ["level"]
    low = layer(sched, [ana], level=1)
    with pytest.raises(ValidationError) as caught:
        services.update_layer(low, actor=SYSTEM, level=1001)
    assert list(caught.value.message_dict) == ["level"]
    assert sorted(Layer.objects.filter(schedule=sched).values_list("level", flat=True)) == [1, top.level]
    assert services.MAX_LEVEL == 1000


def test_parse_clock_reads_hh_mm_and_says_where_it_failed():
    assert parse_clock("07:30") == time(7, 30) and parse_clock("23:59", "handoff_time") == time(23, 59)
    for bad in ("24:00", "7:30", "07:60", None, 730):
        with pytest.raises(ValidationError) as caught:
            parse_clock(bad, "restrictions[0].start")
        assert caught.value.messages[0].startswith("restrictions[0].start: ")


def test_schedules_are_unchanged_by_refused_updates(schedule):
    sched = schedule(name="Network primary", time_zone="Europe/Berlin")
    with pytest.raises(ValidationError) as caught:
        services.update_schedule(sched, actor=SYSTEM, time_zone="Mars/Olympus")
    assert caught.value.message_dict == {"time_zone": ["Unknown time zone 'Mars/Olympus'."]}
    assert Schedule.objects.get(pk=sched.pk).time_zone == "Europe/Berlin"
