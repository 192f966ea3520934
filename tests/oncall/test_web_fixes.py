"""Fixes to the on-call pages and API: malformed ids are a 4xx, one rule for answering swaps,
layer levels 1-1000 everywhere, bounded query counts, URLs by name and honest time-zone labels."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import include, path, reverse
from django.utils import timezone

from tocsin.core import audit
from tocsin.core import services as core_services
from tocsin.core.permissions import Principal
from tocsin.directory import services as directory
from tocsin.oncall import checks, services, swap_rules
from tocsin.oncall.forms import object_id
from tocsin.oncall.models import Layer, Override, ShiftSwap
from tocsin.urls import urlpatterns as site_urlpatterns

from .conftest import SYSTEM

NOW = datetime(2026, 1, 7, 12, tzinfo=UTC)  # a Wednesday; Ana is on call this week
API = "/api/v1"
# The schedule pages mounted elsewhere too; reverse() prefers the last of two (see the URL test).
urlpatterns = [*site_urlpatterns, path("rota/", include("tocsin.oncall.urls"))]


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def bearer_for(user):
    _, secret = core_services.issue_token(user, actor=SYSTEM, name="t")
    return Client(headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def world(make_team, make_user, person, schedule, layer):
    """Network's schedule (Berlin): Ana and Ben weekly from Monday 5 January, 09:00."""
    network = make_team("Network")
    make_team("Database")
    ana_user, ben_user = make_user("ana", roles=["viewer"]), make_user("ben", roles=["viewer"])
    ana = person("Ana Network", teams=[network], user=ana_user)
    ben = person("Ben Network", teams=[network], user=ben_user)
    sched = schedule("Network primary", time_zone="Europe/Berlin", team=network)
    layer(sched, [ana, ben], name="Primary", rotation="weekly", handoff_time=time(9), start_date=date(2026, 1, 5))
    return {
        "schedule": sched, "ana": ana, "ben": ben, "ana_user": ana_user, "ben_user": ben_user,
        "manager": make_user("nora", roles=["responder"], teams=["network"]),
        "outsider": make_user("dave", roles=["responder"], teams=["database"]),
        "viewer": make_user("vera", roles=["viewer"]),
    }


# --- 1. ids in query strings and typed names -----------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("42", 42), ("²", None), ("٣", None), ("0", None), ("-1", None), ("4 2", None), ("", None),
    ("9" * 18, int("9" * 18)), ("9" * 19, None), ("9" * 5000, None), (None, None),
])
def test_object_id_accepts_only_ascii_ids_the_database_holds(raw, expected):
    assert object_id(raw) == expected


@pytest.mark.parametrize("page", ["overrides", "swaps"])
@pytest.mark.parametrize("raw", ["%C2%B2", "99999999999999999999999", "9" * 5000])
def test_prefill_with_a_malformed_person_is_ignored_not_a_500(world, page, raw):
    response = client_for(world["manager"]).get(f"/oncall/network-primary/{page}/new/?person={raw}")
    assert response.status_code == 200


def test_prefill_still_names_a_real_person(world):
    response = client_for(world["manager"]).get(f"/oncall/network-primary/overrides/new/?person={world['ben'].pk}")
    assert 'value="Ben Network"' in response.content.decode()


def _layer_post(client, participants):
    return client.post("/oncall/network-primary/layers/new/", {
        "name": "Second", "rotation": "weekly", "handoff_time": "09:00", "start_date": "2026-01-05",
        "shift_size": "1", "participants": participants})


@pytest.mark.parametrize("line", ["Ana Network #99999999999999999999999", "Ana Network #" + "9" * 4400])
def test_an_id_no_row_can_have_is_an_unknown_name(world, line):
    response = _layer_post(client_for(world["manager"]), line)
    assert response.status_code == 400
    assert "Unknown people or roles" in response.content.decode()
    assert world["schedule"].layers.count() == 1


def test_an_override_naming_a_huge_id_is_a_field_error(world):
    response = client_for(world["manager"]).post("/oncall/network-primary/overrides/new/", {
        "person": "Ana Network #99999999999999999999999", "starts_at": "2026-01-08T09:00",
        "ends_at": "2026-01-08T17:00"})
    assert response.status_code == 400 and "Unknown people" in response.content.decode()


def test_participants_and_description_are_capped(world):
    client = client_for(world["manager"])
    response = _layer_post(client, "Ana Network\n" * 5000)
    assert response.status_code == 400 and "at most 50000 characters" in response.content.decode()
    response = client.post("/oncall/network-primary/edit/", {
        "name": "Network primary", "team": world["schedule"].team_id, "time_zone": "UTC", "description": "x" * 2001})
    assert response.status_code == 400 and "at most 2000 characters" in response.content.decode()


# --- 2. one rule for answering a swap ------------------------------------------------------

@pytest.fixture
def swap(world, make_user):
    """Ana's Thursday morning offered to Ben, asked for by Rita, who has since lost her manager role."""
    rita = make_user("rita", roles=["viewer"])
    by_rita = audit.Actor.of(Principal.load(rita))
    made = services.request_swap(world["schedule"], actor=by_rita, requester=world["ana"], counterpart=world["ben"],
                                 starts_at=datetime(2026, 1, 8, 8, tzinfo=UTC), ends_at=datetime(2026, 1, 8, 9, tzinfo=UTC))
    world["rita"] = rita
    return ShiftSwap.objects.select_related("schedule", "requester", "counterpart").get(pk=made.pk)


# who -> the answers they may give
EXPECTED = {
    "ana_user": {"cancel"}, "ben_user": {"accept", "decline"}, "rita": {"cancel"},
    "manager": {"accept", "decline", "cancel"}, "outsider": set(), "viewer": set(),
}


def test_may_answer_follows_the_rule(world, swap):
    for who, allowed in EXPECTED.items():
        principal = Principal.load(world[who])
        assert {a for a in swap_rules.ACTIONS if swap_rules.may_answer(principal, swap, a)} == allowed, who


@pytest.mark.parametrize("who", sorted(EXPECTED))
@pytest.mark.parametrize("action", swap_rules.ACTIONS)
def test_the_pages_and_the_api_answer_alike(world, swap, who, action):
    allowed = action in EXPECTED[who]
    page = client_for(world[who]).post(f"/oncall/swaps/{swap.pk}/{action}/")
    assert page.status_code == (302 if allowed else 403)
    Override.objects.filter(swap=swap).delete()  # as it was, for the API to answer the same swap
    ShiftSwap.objects.filter(pk=swap.pk).update(status=ShiftSwap.PENDING)
    api = bearer_for(world[who]).post(f"{API}/swaps/{swap.pk}/{action}")
    assert api.status_code == (200 if allowed else 403)


def test_the_swap_list_offers_what_the_rule_allows(world, swap):
    body = client_for(world["rita"]).get("/oncall/swaps/").content.decode()
    row = body.split(f'data-testid="swap-{swap.pk}"')[1].split("</tr>")[0]
    assert ">Cancel<" in row and ">Accept<" not in row


# --- 7. layer levels -----------------------------------------------------------------------

@pytest.mark.parametrize("level, status", [(0, 422), (1001, 422), (1000, 201)])
def test_the_api_takes_the_forms_levels(world, make_user, level, status):
    client = bearer_for(make_user("boss", roles=["admin"]))
    body = {"name": "Extra", "level": level, "start_date": "2026-01-05", "participants": [{"person": world["ben"].pk}]}
    response = client.post(f"{API}/schedules/{world['schedule'].pk}/layers", body, content_type="application/json")
    assert response.status_code == status
    layer_id = world["schedule"].layers.get(name="Primary").pk
    patched = client.patch(f"{API}/schedules/{world['schedule'].pk}/layers/{layer_id}",
                           {"level": level if status != 201 else level - 1},
                           content_type="application/json")
    assert patched.status_code == (200 if status == 201 else 422)


def test_patch_still_refuses_nulls_but_takes_a_null_end(world, make_user):
    client = bearer_for(make_user("boss", roles=["admin"]))
    layer_id = world["schedule"].layers.get().pk
    url = f"{API}/schedules/{world['schedule'].pk}/layers/{layer_id}"
    refused = client.patch(url, {"name": None}, content_type="application/json")
    assert refused.status_code == 422 and "name cannot be null" in refused.content.decode()
    assert client.patch(url, {"end_date": None}, content_type="application/json").status_code == 200
    schedule_url = f"{API}/schedules/{world['schedule'].pk}"
    assert client.patch(schedule_url, {"time_zone": None}, content_type="application/json").status_code == 422
    assert client.patch(schedule_url, {"team": None}, content_type="application/json").status_code == 200


# --- 4. queries --------------------------------------------------------------------------

def _queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in queries]


def test_the_schedule_page_loads_the_plan_once_in_constant_queries(world, person, layer):
    client = client_for(world["manager"])
    role = directory.create_role(actor=SYSTEM, name="DBA")
    directory.assign_holder(role, person("Dora DBA"), actor=SYSTEM, starts_at=NOW - timedelta(days=30))

    def override(i):
        services.add_override(world["schedule"], actor=SYSTEM, person=person(f"Helper {i}"), replaces=world["ana"],
                              starts_at=NOW + timedelta(hours=i), ends_at=NOW + timedelta(hours=i + 1))

    override(0)
    layer(world["schedule"], [role, world["ben"]], rotation="daily", start_date=date(2026, 1, 1))
    few = _queries(client, "/oncall/network-primary/")
    for i in range(1, 8):
        override(i)
    for name in ("Web", "Mail"):
        other = directory.create_role(actor=SYSTEM, name=name)
        directory.assign_holder(other, person(f"{name} holder"), actor=SYSTEM, starts_at=NOW - timedelta(days=30))
        layer(world["schedule"], [other, person(f"{name} person")], rotation="daily", start_date=date(2026, 1, 1))
    many = _queries(client, "/oncall/network-primary/")
    assert len(many) == len(few)
    # The plan's rotation slots are read once, not once per part of the page.
    slots = 'SELECT "oncall_participant"."layer_id" AS "layer_id", "oncall_participant"."person_id" AS'
    assert sum(sql.startswith(slots) for sql in many) == 1


def test_a_far_month_is_still_right_with_a_second_load(world):
    body = client_for(world["viewer"]).get("/oncall/network-primary/?view=month&start=2028-03-01").content.decode()
    assert "Ana Network" in body.split('data-testid="row-final"')[1]


def test_the_swap_list_needs_constant_queries(world, make_user, schedule, layer, person):
    client = client_for(world["manager"])

    def offer(sched, requester, counterpart, day):
        services.request_swap(sched, actor=SYSTEM, requester=requester, counterpart=counterpart,
                              starts_at=datetime(2026, 1, day, 8, tzinfo=UTC),
                              ends_at=datetime(2026, 1, day, 9, tzinfo=UTC))

    offer(world["schedule"], world["ana"], world["ben"], 8)
    few = len(_queries(client, "/oncall/swaps/"))
    other = schedule("Database primary", time_zone="UTC")
    dan, eve = person("Dan"), person("Eve")
    layer(other, [dan, eve], rotation="weekly", start_date=date(2026, 1, 5))
    offer(world["schedule"], world["ana"], world["ben"], 9)
    offer(other, dan, eve, 8)
    services.decline_swap(ShiftSwap.objects.first(), actor=SYSTEM)
    offer(world["schedule"], world["ana"], world["ben"], 10)
    assert len(_queries(client, "/oncall/swaps/")) == few


def test_vacancy_check_queries_do_not_grow_with_schedules(schedule, layer, person):
    def vacant(name):
        gone = person(f"{name} gone")
        layer(schedule(name, time_zone="UTC"), [gone], start_date=date(2026, 1, 5))
        directory.deactivate_person(gone, actor=SYSTEM, source="cli")

    vacant("One")
    with CaptureQueriesContext(connection) as one:
        assert len(checks.vacancy_findings()) == 1
    for name in ("Two", "Three", "Four"):
        vacant(name)
    with CaptureQueriesContext(connection) as four:
        found = checks.vacancy_findings()
    assert [f.message.split("'")[1] for f in found] == ["Four", "One", "Three", "Two"]
    assert len(four) == len(one)


# --- 5 and 6. URLs by name, time zones labelled -----------------------------------------------

@override_settings(ROOT_URLCONF=__name__)
def test_links_and_redirects_follow_where_the_pages_are_mounted(world):
    services.import_calendar_layer(world["schedule"], actor=SYSTEM, name="Imported", source_text=(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:1\r\nSUMMARY:Ana Network\r\n"
        "DTSTART:20260105T090000Z\r\nDTEND:20260106T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
    client = client_for(world["manager"])
    calendar_layer = world["schedule"].layers.get(rotation=Layer.CALENDAR)
    response = client.get(reverse("oncall-layer-edit", args=["network-primary", calendar_layer.pk]))
    assert response.status_code == 302 and response["Location"] == "/rota/network-primary/import/"
    page = client.get("/rota/network-primary/").content.decode()
    assert 'href="/rota/network-primary/import/"' in page and 'href="/rota/feeds/"' in page
    assert 'href="/rota/feeds/"' in client.get("/rota/").content.decode()


def test_feed_times_name_the_zone_they_are_shown_in(world):
    client = client_for(world["ana_user"])
    client.post("/oncall/feeds/", {"target": "me"})
    with timezone.override("Europe/Berlin"):
        body = client.get("/oncall/feeds/").content.decode()
    assert "2026-01-07 13:00 CET" in body and "UTC" not in body.split('data-testid="feeds"')[1]
