"""D1 in the browser's HTML: the schedule list and page render who is on call and why, in the
schedule's zone; forms refuse bad input with field errors; only managers of the schedule's
team change it; swaps are answered by the counterpart or a manager; query counts stay bounded."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tocsin.directory import services as directory
from tocsin.oncall import services
from tocsin.oncall.models import Layer, Override, Schedule, ShiftSwap

from .conftest import SYSTEM

NOW = datetime(2026, 1, 7, 12, tzinfo=UTC)  # a Wednesday, in the week of Monday 5 January


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(make_team, make_user, person, schedule, layer):
    """Network's schedule (Berlin) with Ana and Ben weekly; Ana and Ben can sign in."""
    network, database = make_team("Network"), make_team("Database")
    ana_user, ben_user = make_user("ana", roles=["viewer"]), make_user("ben", roles=["viewer"])
    ana = person("Ana Network", teams=[network], user=ana_user)
    ben = person("Ben Network", teams=[network], user=ben_user)
    sched = schedule("Network primary", time_zone="Europe/Berlin", team=network)
    layer(sched, [ana, ben], name="Primary", rotation="weekly", handoff_time=time(9), start_date=date(2026, 1, 5))
    return {
        "network": network, "database": database, "ana": ana, "ben": ben, "schedule": sched,
        "ana_user": ana_user, "ben_user": ben_user,
        "manager": make_user("nora", roles=["responder"], teams=["network"]),
        "outsider": make_user("dave", roles=["responder"], teams=["database"]),
        "viewer": make_user("vera", roles=["viewer"]),
        "admin": make_user("root", roles=["admin"]),
    }


# --- reading -----------------------------------------------------------------------------

def test_list_shows_who_is_on_call_gaps_and_vacancies(world, schedule, layer, person):
    empty = schedule("Database nights", time_zone="UTC", team=world["database"])
    gone = person("Gus Gone")
    layer(empty, [gone], name="Nights", rotation="daily", handoff_time=time(0), start_date=date(2026, 1, 5))
    directory.deactivate_person(gone, actor=SYSTEM, source="cli")
    body = client_for(world["viewer"]).get("/oncall/").content.decode()
    row = body.split('id="schedule-network-primary"')[1].split("</tr>")[0]
    assert "Ana Network" in row and "Europe/Berlin" in row and "Network" in row and "covered" in row
    other = body.split('id="schedule-database-nights"')[1].split("</tr>")[0]
    assert "Nobody" in other and "gap in next 14 days" in other and "1 vacancy" in other
    assert 'data-testid="oncall-everywhere"' in body and "Ana Network" in body.split("oncall-everywhere")[1]


def test_list_query_count_does_not_grow_with_schedules(world, schedule, layer, person, django_assert_max_num_queries):
    client = client_for(world["viewer"])

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/oncall/").status_code == 200
        return len(queries)

    role = directory.create_role(actor=SYSTEM, name="DB on-call")
    directory.assign_holder(role, world["ben"], actor=SYSTEM, starts_at=NOW - timedelta(days=1))

    def add(i):
        sched = schedule(f"Schedule {i}", time_zone="America/New_York")
        extra = person(f"Person {i}")
        layer(sched, [extra, world["ana"], role], rotation="daily", handoff_time=time(8), start_date=date(2026, 1, 1))
        services.add_override(sched, actor=SYSTEM, person=world["ben"], replaces=world["ana"],
                              starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=1))

    add(0)  # one of each kind (a role slot, an override), so the first count asks every query
    few = count()
    for i in range(1, 23):
        add(i)
    assert Schedule.objects.count() == 24
    assert count() == few
    with django_assert_max_num_queries(few):
        client.get("/oncall/")


def test_schedule_page_shows_layers_overrides_final_row_and_provenance(world, person):
    sched, ana, ben = world["schedule"], world["ana"], world["ben"]
    chen = person("Chen Cover", teams=[world["network"]])
    services.add_override(sched, actor=SYSTEM, person=chen, replaces=ana,
                          starts_at=datetime(2026, 1, 8, 8, tzinfo=UTC), ends_at=datetime(2026, 1, 8, 11, tzinfo=UTC))
    body = client_for(world["viewer"]).get(f"/oncall/{sched.slug}/").content.decode()
    assert "Europe/Berlin" in body and "Week of 5 Jan 2026" in body
    layer_row = body.split('data-testid="row-layer"')[1].split("</tr>")[0]
    assert "Ana Network" in layer_row and "Chen Cover" not in layer_row
    assert "09:00–24:00" in layer_row  # Monday's handoff in Berlin time, not UTC (08:00)
    overrides_row = body.split('data-testid="row-overrides"')[1].split("</tr>")[0]
    assert "Chen Cover" in overrides_row and "09:00–12:00" in overrides_row and "for Ana Network" in overrides_row
    final_row = body.split('data-testid="row-final"')[1].split("</tr>")[0]
    assert "Chen Cover" in final_row and "override" in final_row
    now_panel = body.split('data-testid="on-call-now"')[1].split("</ul>")[0]
    assert "Ana Network" in now_panel and "(Primary)" in now_panel
    assert "/oncall/network-primary/import/" not in body  # a viewer cannot import
    assert "/oncall/feeds/" in body
    assert "Override this shift" not in body and "Offer a swap" not in body
    assert ben.name not in final_row  # Ben's week starts on the 12th


def test_provenance_names_roles_and_stand_ins(world, schedule, layer, person):
    role = directory.create_role(actor=SYSTEM, name="Network lead")
    lea = person("Lea Lead")
    directory.assign_holder(role, lea, actor=SYSTEM, starts_at=NOW - timedelta(days=30))
    sched = schedule("Leads", time_zone="UTC")
    layer(sched, [role], rotation="daily", handoff_time=time(0), start_date=date(2026, 1, 1))
    client = client_for(world["viewer"])
    panel = client.get(f"/oncall/{sched.slug}/").content.decode().split('data-testid="on-call-now"')[1]
    assert "Lea Lead</strong> <span class=\"muted\">(Layer 1, via role Network lead)" in panel.split("</ul>")[0]
    directory.delegate(lea, world["ben"], actor=SYSTEM, starts_at=NOW - timedelta(hours=1),
                       ends_at=NOW + timedelta(hours=1))
    panel = client.get(f"/oncall/{sched.slug}/").content.decode().split('data-testid="on-call-now"')[1]
    assert ("Ben Network</strong> <span class=\"muted\">(Layer 1, via role Network lead, standing in for Lea Lead)"
            in panel.split("</ul>")[0])


def test_month_view_and_period_links(world):
    client = client_for(world["viewer"])
    body = client.get("/oncall/network-primary/?view=month&start=2026-02-14").content.decode()
    assert "February 2026" in body and 'start=2026-01-01" rel="prev"' in body and 'start=2026-03-01" rel="next"' in body
    final_row = body.split('data-testid="row-final"')[1].split("</tr>")[0]
    assert final_row.count("<td>") == 28
    week = client.get("/oncall/network-primary/?start=2026-03-30").content.decode()
    assert 'start=2026-03-23" rel="prev"' in week and 'start=2026-04-06" rel="next"' in week


@pytest.mark.parametrize("query", ["?start=2026-13-01", "?view=year", "?start=0001-01-01"])
def test_bad_period_is_a_400_naming_the_parameter(world, query):
    response = client_for(world["viewer"]).get(f"/oncall/network-primary/{query}")
    assert response.status_code == 400
    assert ("start" if "start" in query else "view") in response.content.decode()


def test_schedule_page_gap_warning_and_grid_gap(world, schedule):
    sched = schedule("Empty", time_zone="UTC", team=world["network"])
    body = client_for(world["viewer"]).get(f"/oncall/{sched.slug}/").content.decode()
    assert 'data-testid="gap-warning"' in body and "Nobody is on call right now" in body
    assert "Nobody on call" in body.split('data-testid="row-final"')[1]


def test_schedule_page_query_count_does_not_grow_with_overrides_or_layers(world, person, layer):
    client = client_for(world["manager"])

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/oncall/network-primary/").status_code == 200
        return len(queries)

    def helper_override(i):
        services.add_override(world["schedule"], actor=SYSTEM, person=person(f"Helper {i}"), replaces=world["ana"],
                              starts_at=NOW + timedelta(hours=i), ends_at=NOW + timedelta(hours=i + 1))

    helper_override(0)
    few = count()
    for i in range(1, 16):
        helper_override(i)
    layer(world["schedule"], [person("Night owl"), world["ben"]], rotation="daily", handoff_time=time(20),
          start_date=date(2026, 1, 1), restrictions=[{"days": [0, 1, 2, 3, 4], "start": "20:00", "end": "08:00"}])
    assert count() == few <= 45


# --- schedules -----------------------------------------------------------------------------

def test_responder_creates_a_schedule_for_their_team_only(world):
    client = client_for(world["manager"])
    form = client.get("/oncall/new/").content.decode()
    assert ">Network<" in form and ">Database<" not in form and 'id="zones"' in form
    response = client.post("/oncall/new/", {"name": "Network secondary", "team": world["network"].pk,
                                            "time_zone": "Asia/Tokyo"})
    assert response.status_code == 302 and response["Location"] == "/oncall/network-secondary/"
    assert Schedule.objects.get(slug="network-secondary").time_zone == "Asia/Tokyo"
    refused = client.post("/oncall/new/", {"name": "Sneaky", "team": world["database"].pk, "time_zone": "UTC"})
    assert refused.status_code == 400 and not Schedule.objects.filter(name="Sneaky").exists()


def test_unknown_zone_is_a_field_error(world):
    response = client_for(world["admin"]).post("/oncall/new/", {"name": "Mars", "time_zone": "Mars/Olympus"})
    assert response.status_code == 400
    assert "Unknown time zone &#x27;Mars/Olympus&#x27;." in response.content.decode()
    assert not Schedule.objects.filter(name="Mars").exists()


def test_duplicate_name_from_the_service_shows_on_the_form(world):
    response = client_for(world["admin"]).post("/oncall/new/", {"name": "Network primary", "time_zone": "UTC"})
    assert response.status_code == 400 and "exists already" in response.content.decode()


def test_viewer_and_other_team_get_the_friendly_403(world):
    sched = world["schedule"]
    for user in (world["viewer"], world["outsider"]):
        client = client_for(user)
        for url in (f"/oncall/{sched.slug}/edit/", f"/oncall/{sched.slug}/layers/new/",
                    f"/oncall/{sched.slug}/overrides/new/", f"/oncall/{sched.slug}/delete/"):
            response = client.get(url)
            assert response.status_code == 403 and "Not allowed" in response.content.decode(), url
        assert client.post(f"/oncall/{sched.slug}/delete/").status_code == 403
    assert client_for(world["viewer"]).get("/oncall/new/").status_code == 403
    assert Schedule.objects.filter(pk=sched.pk).exists()


def test_edit_and_delete_a_schedule(world):
    client = client_for(world["manager"])
    sched = world["schedule"]
    assert "Europe/Berlin" in client.get(f"/oncall/{sched.slug}/edit/").content.decode()
    response = client.post(f"/oncall/{sched.slug}/edit/", {"name": "Network primary", "team": world["network"].pk,
                                                            "time_zone": "Europe/Lisbon", "description": "Core"})
    assert response.status_code == 302
    sched.refresh_from_db()
    assert sched.time_zone == "Europe/Lisbon" and sched.description == "Core"
    assert "Delete Network primary?" in client.get(f"/oncall/{sched.slug}/delete/").content.decode()
    assert client.post(f"/oncall/{sched.slug}/delete/").status_code == 302
    assert not Schedule.objects.filter(pk=sched.pk).exists()


def test_reading_needs_a_login():
    response = Client().get("/oncall/")
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- layers --------------------------------------------------------------------------------

LAYER = {"name": "Follow the sun", "rotation": "custom", "length": "12", "unit": "hours", "handoff_time": "08:00",
         "start_date": "2026-01-05", "shift_size": "1"}


def test_add_a_layer_with_ordered_participants_role_and_restrictions(world):
    role = directory.create_role(actor=SYSTEM, name="Duty manager")
    client = client_for(world["manager"])
    page = client.get("/oncall/network-primary/layers/new/").content.decode()
    assert "Ana Network" in page and "Duty manager" in page
    response = client.post("/oncall/network-primary/layers/new/", {
        **LAYER, "participants": "Ben Network\nAna Network\nRole: Duty manager",
        "restrictions": "Mon-Fri 09:00-17:00\nsat,sun 10:00-14:00\nFri-Mon 22:00-06:00"})
    assert response.status_code == 302
    layer = Layer.objects.get(name="Follow the sun")
    slots = [(p.person_id, p.role_id) for p in layer.participants.all()]
    assert slots == [(world["ben"].pk, None), (world["ana"].pk, None), (None, role.pk)]
    assert layer.restrictions == [{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"},
                                  {"days": [5, 6], "start": "10:00", "end": "14:00"},
                                  {"days": [0, 4, 5, 6], "start": "22:00", "end": "06:00"}]
    assert layer.level == 2 and layer.length == 12 and layer.unit == "hours"
    edit = client.get(f"/oncall/network-primary/layers/{layer.pk}/edit/").content.decode()
    assert "Ben Network\nAna Network\nRole: Duty manager" in edit
    assert "Mon-Fri 09:00-17:00\nSat-Sun 10:00-14:00\nMon,Fri-Sun 22:00-06:00" in edit


def test_unknown_and_ambiguous_participants_are_named(world, person):
    person("Ana Network")  # a second active person with the same name
    client = client_for(world["manager"])
    response = client.post("/oncall/network-primary/layers/new/",
                           {**LAYER, "participants": "Zed Nobody\nAna Network\nRole: Ghosts"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Unknown people or roles: &#x27;Zed Nobody&#x27;, &#x27;Role: Ghosts&#x27;." in body
    assert "&#x27;Ana Network&#x27; names 2 people" in body and f"Ana Network #{world['ana'].pk}" in body
    assert not Layer.objects.filter(name="Follow the sun").exists()
    fixed = client.post("/oncall/network-primary/layers/new/",
                        {**LAYER, "participants": f"Ana Network #{world['ana'].pk}"})
    assert fixed.status_code == 302


@pytest.mark.parametrize("text, message", [
    ("Mon-Fry 09:00-17:00", "Line 1: &#x27;Fry&#x27; is not a day"),
    ("Mon 09:00-17:00\nweekdays", "Line 2: &#x27;weekdays&#x27; should read like"),
    ("Mon 25:00-17:00", "Line 1: &#x27;25:00&#x27; is not a time of day"),
])
def test_restriction_errors_name_the_line(world, text, message):
    response = client_for(world["manager"]).post(
        "/oncall/network-primary/layers/new/", {**LAYER, "participants": "Ana Network", "restrictions": text})
    assert response.status_code == 400 and message in response.content.decode()


def test_service_errors_land_on_the_layer_form(world):
    response = client_for(world["manager"]).post(
        "/oncall/network-primary/layers/new/",
        {**LAYER, "participants": "Ana Network", "level": "1", "end_date": "2026-01-01"})
    body = response.content.decode()
    assert response.status_code == 400 and ("Level 1 is taken" in body or "must end after" in body)


def test_edit_and_remove_a_layer(world):
    client = client_for(world["manager"])
    layer = world["schedule"].layers.get()
    response = client.post(f"/oncall/network-primary/layers/{layer.pk}/edit/", {
        **LAYER, "name": "Primary", "rotation": "daily", "participants": "Ben Network", "level": str(layer.level)})
    assert response.status_code == 302
    layer.refresh_from_db()
    assert layer.rotation == "daily" and [p.person_id for p in layer.participants.all()] == [world["ben"].pk]
    assert client.get(f"/oncall/network-primary/layers/{layer.pk}/remove/").status_code == 405
    assert client.post(f"/oncall/network-primary/layers/{layer.pk}/remove/").status_code == 302
    assert not Layer.objects.filter(pk=layer.pk).exists()


# --- overrides -----------------------------------------------------------------------------

def test_override_times_are_local_to_the_schedule(world):
    client = client_for(world["manager"])
    response = client.post("/oncall/network-primary/overrides/new/", {
        "person": "Ben Network", "replaces": "Ana Network", "starts_at": "2026-07-01T10:00",
        "ends_at": "2026-07-01T18:30", "reason": "Dentist"})
    assert response.status_code == 302 and "start=2026-07-01" in response["Location"]
    override = Override.objects.get()
    assert override.starts_at == datetime(2026, 7, 1, 8, tzinfo=UTC)  # Berlin summer time, UTC+2
    assert override.ends_at == datetime(2026, 7, 1, 16, 30, tzinfo=UTC)
    assert override.replaces == world["ana"] and override.reason == "Dentist"
    page = client.get("/oncall/network-primary/").content.decode()
    assert "Remove" in page.split('data-testid="overrides"')[1]
    assert client.post(f"/oncall/network-primary/overrides/{override.pk}/remove/").status_code == 302
    assert not Override.objects.exists()


def test_override_end_before_start_is_a_field_error(world):
    response = client_for(world["manager"]).post("/oncall/network-primary/overrides/new/", {
        "person": "Ben Network", "starts_at": "2026-07-01T10:00", "ends_at": "2026-07-01T09:00"})
    body = response.content.decode()
    assert response.status_code == 400 and "The end must be after the start." in body
    assert body.index("The end must be after the start.") > body.index('name="ends_at"')
    assert not Override.objects.exists()


def test_override_form_is_prefilled_from_a_final_shift(world):
    client = client_for(world["manager"])
    page = client.get("/oncall/network-primary/").content.decode()
    link = page.split("Override this shift")[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    form = client.get(link).content.decode()
    assert 'value="Ana Network"' in form
    assert 'value="2026-01-05T09:00"' in form and 'value="2026-01-12T09:00"' in form


def test_unknown_override_person_is_named(world):
    response = client_for(world["manager"]).post("/oncall/network-primary/overrides/new/", {
        "person": "Nobody Known", "starts_at": "2026-07-01T10:00", "ends_at": "2026-07-01T12:00"})
    assert response.status_code == 400 and "Unknown people: &#x27;Nobody Known&#x27;." in response.content.decode()


# --- swaps ---------------------------------------------------------------------------------

def _offer(client, **extra):
    return client.post("/oncall/network-primary/swaps/new/", {
        "requester": "Ana Network", "counterpart": "Ben Network", "starts_at": "2026-01-08T09:00",
        "ends_at": "2026-01-09T09:00", **extra})


def test_requester_offers_and_counterpart_accepts(world):
    ana_client = client_for(world["ana_user"])
    page = ana_client.get("/oncall/network-primary/").content.decode()
    assert "Offer a swap" in page and "Override this shift" not in page
    assert _offer(ana_client, note="Wedding").status_code == 302
    swap = ShiftSwap.objects.get()
    assert swap.status == "pending" and swap.starts_at == datetime(2026, 1, 8, 8, tzinfo=UTC)
    listing = ana_client.get("/oncall/swaps/").content.decode()
    row = listing.split(f'data-testid="swap-{swap.pk}"')[1].split("</tr>")[0]
    assert ">Cancel<" in row and ">Accept<" not in row
    assert ana_client.post(f"/oncall/swaps/{swap.pk}/accept/").status_code == 403
    assert client_for(world["outsider"]).post(f"/oncall/swaps/{swap.pk}/cancel/").status_code == 403

    ben_client = client_for(world["ben_user"])
    row = ben_client.get("/oncall/swaps/").content.decode().split(f'data-testid="swap-{swap.pk}"')[1]
    assert ">Accept<" in row.split("</tr>")[0]
    response = ben_client.post(f"/oncall/swaps/{swap.pk}/accept/")
    assert response.status_code == 302 and "start=2026-01-08" in response["Location"]
    swap.refresh_from_db()
    assert swap.status == "accepted" and swap.decided_by == world["ben_user"]
    page = ben_client.get(response["Location"]).content.decode()
    assert "Swap: Ana Network → Ben Network, Thu 8 Jan 09:00–Fri 9 Jan 09:00, accepted by ben" in page
    thursday = page.split('data-testid="row-final"')[1].split("</tr>")[0].split("<td>")[4]
    assert "Ben Network" in thursday and "swap" in thursday
    again = ben_client.post(f"/oncall/swaps/{swap.pk}/decline/", follow=True)
    assert "already accepted" in again.content.decode()


def test_someone_else_cannot_offer_anothers_shift_but_a_manager_can(world):
    refused = _offer(client_for(world["ben_user"]))
    assert refused.status_code == 403 and not ShiftSwap.objects.exists()
    assert _offer(client_for(world["manager"])).status_code == 302
    swap = ShiftSwap.objects.get()
    assert client_for(world["manager"]).post(f"/oncall/swaps/{swap.pk}/decline/").status_code == 302
    swap.refresh_from_db()
    assert swap.status == "declined"


def test_swap_outside_the_requesters_shift_is_a_form_error(world):
    response = _offer(client_for(world["ana_user"]), starts_at="2026-01-13T09:00", ends_at="2026-01-14T09:00")
    assert response.status_code == 400 and "is not on call between those times" in response.content.decode()


def test_swap_with_a_shift_in_return(world):
    ana_client = client_for(world["ana_user"])
    form = ana_client.get("/oncall/network-primary/swaps/new/").content.decode()
    assert "Ben Network · Mon 12 Jan 09:00 – Mon 19 Jan 09:00" in form
    value = f"{datetime(2026, 1, 12, 8, tzinfo=UTC).isoformat()}/{datetime(2026, 1, 19, 8, tzinfo=UTC).isoformat()}"
    assert _offer(ana_client, give_back=value).status_code == 302
    swap = ShiftSwap.objects.get()
    assert swap.return_starts_at == datetime(2026, 1, 12, 8, tzinfo=UTC)
    assert client_for(world["ben_user"]).post(f"/oncall/swaps/{swap.pk}/accept/").status_code == 302
    assert Override.objects.filter(swap=swap).count() == 2


def test_forms_need_csrf(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["manager"])
    assert client.post("/oncall/network-primary/delete/").status_code == 403
    assert Schedule.objects.filter(pk=world["schedule"].pk).exists()


def test_custom_rotation_needs_a_length_but_weekly_does_not(world):
    client = client_for(world["manager"])
    missing = client.post("/oncall/network-primary/layers/new/",
                          {**LAYER, "length": "", "participants": "Ana Network"})
    assert missing.status_code == 400 and "A custom rotation needs a shift length." in missing.content.decode()
    weekly = client.post("/oncall/network-primary/layers/new/",
                         {**LAYER, "rotation": "weekly", "length": "", "unit": "", "participants": "Ana Network"})
    assert weekly.status_code == 302
    assert Layer.objects.get(name="Follow the sun").length == 1
