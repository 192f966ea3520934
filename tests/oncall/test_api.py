"""D1 over the JSON API: schedules, layers, overrides and swaps with team-scoped writes, who is
on call with provenance and shift bounds, and the timeline with its window rules."""

from datetime import UTC, date, datetime, time

import pytest
from django.test import Client

from tocsin.core import services as core_services
from tocsin.core.models import AuditEntry
from tocsin.directory import services as directory
from tocsin.oncall import services
from tocsin.oncall.models import Layer, Override, Schedule, ShiftSwap

from .conftest import SYSTEM

API = "/api/v1"
JSON = "application/json"


def at(*args):
    return datetime(*args, tzinfo=UTC)


def client_of(user, scopes=()):
    _, secret = core_services.issue_token(user, actor=SYSTEM, name="t", scopes=list(scopes))
    return Client(headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def teams(make_team):
    return {"network": make_team("Network"), "platform": make_team("Platform")}


@pytest.fixture
def admin(make_user, teams):
    return client_of(make_user("boss", roles=["admin"]))


@pytest.fixture
def network_responder(make_user, teams):
    return client_of(make_user("nina", roles=["responder"], teams=["network"]))


@pytest.fixture
def viewer(make_user, teams):
    return client_of(make_user("vic", roles=["viewer"]))


@pytest.fixture
def make_role_held(db):
    def make(name, holder):
        role = directory.create_role(actor=SYSTEM, name=name)
        directory.assign_holder(role, holder, actor=SYSTEM, starts_at=at(2025, 1, 1))
        return role

    return make


def post(client, path, body):
    return client.post(f"{API}{path}", body, content_type=JSON)


def patch(client, path, body):
    return client.patch(f"{API}{path}", body, content_type=JSON)


def test_schedule_crud_with_gaps_and_vacancies(admin, person):
    created = post(admin, "/schedules", {"name": "Network primary", "time_zone": "Europe/Berlin", "team": "network"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["slug"] == "network-primary" and body["team"] == "network" and body["layers"] == []
    # No layer yet: nobody is on call for the whole look-ahead.
    assert len(body["gaps_next_14_days"]) == 1 and body["vacancies"] == []
    sid = body["id"]
    ana = person("Ana")
    layer = post(admin, f"/schedules/{sid}/layers", {
        "name": "Weekly", "rotation": "weekly", "handoff_time": "09:00", "start_date": "2026-01-05",
        "participants": [{"person": ana.pk}]})
    assert layer.status_code == 201, layer.content
    detail = admin.get(f"{API}/schedules/{sid}").json()
    assert detail["gaps_next_14_days"] == [] and detail["layers"][0]["participants"][0]["person"]["name"] == "Ana"
    directory.deactivate_person(ana, actor=SYSTEM)
    detail = admin.get(f"{API}/schedules/{sid}").json()
    assert detail["vacancies"] == ["Weekly: Ana is deactivated"] and len(detail["gaps_next_14_days"]) == 1

    changed = patch(admin, f"/schedules/{sid}", {"name": "Network first line", "team": None})
    # A renamed schedule keeps its slug: calendar subscriptions and links use it.
    assert changed.status_code == 200 and changed.json()["team"] is None and changed.json()["slug"] == "network-primary"
    assert patch(admin, f"/schedules/{sid}", {"time_zone": "Mars/Olympus"}).json()["errors"] == {
        "time_zone": ["Unknown time zone 'Mars/Olympus'."]}
    assert admin.get(f"{API}/schedules").json()["count"] == 1
    assert admin.delete(f"{API}/schedules/{sid}").status_code == 204
    assert admin.get(f"{API}/schedules/{sid}").status_code == 404
    assert admin.delete(f"{API}/schedules/{sid}").status_code == 404
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"oncall.schedule.created", "oncall.layer.added", "oncall.schedule.updated", "oncall.schedule.deleted"} <= actions


def test_bad_schedule_input_names_the_field(admin):
    unknown_team = post(admin, "/schedules", {"name": "X", "team": "nope"})
    assert unknown_team.status_code == 400 and "team" in unknown_team.json()["errors"]
    bad_zone = post(admin, "/schedules", {"name": "X", "time_zone": "Europe/Atlantis"})
    assert bad_zone.status_code == 400 and "time_zone" in bad_zone.json()["errors"]
    assert not Schedule.objects.exists()


def test_writes_are_scoped_to_the_schedules_team(admin, network_responder, viewer, teams, schedule):
    network = schedule("Network", team=teams["network"])
    platform = schedule("Platform", team=teams["platform"])
    teamless = schedule("Everyone")
    assert viewer.get(f"{API}/schedules/{network.pk}").status_code == 200
    assert patch(viewer, f"/schedules/{network.pk}", {"description": "x"}).status_code == 403
    assert patch(network_responder, f"/schedules/{network.pk}", {"description": "ok"}).status_code == 200
    assert patch(network_responder, f"/schedules/{platform.pk}", {"description": "no"}).status_code == 403
    assert patch(network_responder, f"/schedules/{teamless.pk}", {"description": "no"}).status_code == 403
    # Moving a schedule needs reach over the team it goes to as well.
    assert patch(network_responder, f"/schedules/{network.pk}", {"team": "platform"}).status_code == 403
    assert post(network_responder, "/schedules", {"name": "Mine", "team": "network"}).status_code == 201
    assert post(network_responder, "/schedules", {"name": "Nobody's"}).status_code == 403
    assert patch(admin, f"/schedules/{teamless.pk}", {"description": "fine"}).status_code == 200
    assert Schedule.objects.get(pk=platform.pk).description == ""
    assert AuditEntry.objects.filter(action="permission.denied").count() >= 4


def test_layers_with_people_roles_restrictions_and_precise_errors(admin, schedule, person, make_role_held):
    sched = schedule(time_zone="UTC")
    ana, ben = person("Ana"), person("Ben")
    role = make_role_held("Network on-call", ben)
    body = {"name": "Day", "rotation": "daily", "handoff_time": "08:30", "start_date": "2026-01-05", "shift_size": 1,
            "restrictions": [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}],
            "participants": [{"person": ana.pk}, {"role": role.pk}]}
    created = post(admin, f"/schedules/{sched.pk}/layers", body)
    assert created.status_code == 201, created.content
    layer = created.json()
    assert layer["handoff_time"] == "08:30" and layer["level"] == 1
    assert [p["person"] or p["role"] for p in layer["participants"]] == [
        {"id": ana.pk, "name": "Ana"}, {"id": role.pk, "name": "Network on-call"}]
    assert layer["restrictions"] == [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}]

    for field, change in [("handoff_time", {"handoff_time": "25:00"}),
                          ("restrictions", {"restrictions": [{"days": [9], "start": "08:00", "end": "18:00"}]}),
                          ("participants", {"participants": [{"person": 999999}]})]:
        refused = post(admin, f"/schedules/{sched.pk}/layers", {**body, "name": "Bad", **change})
        assert refused.status_code == 400 and field in refused.json()["errors"], (field, refused.content)
    both = post(admin, f"/schedules/{sched.pk}/layers", {**body, "participants": [{"person": ana.pk, "role": role.pk}]})
    assert both.status_code == 422
    assert Layer.objects.filter(schedule=sched).count() == 1

    lid = layer["id"]
    changed = patch(admin, f"/schedules/{sched.pk}/layers/{lid}", {"participants": [{"person": ben.pk}], "shift_size": 1,
                                                                  "handoff_time": "07:00"})
    assert changed.status_code == 200 and changed.json()["participants"][0]["person"]["name"] == "Ben"
    assert changed.json()["handoff_time"] == "07:00"
    other = schedule("Other")
    assert patch(admin, f"/schedules/{other.pk}/layers/{lid}", {"name": "x"}).status_code == 404
    assert admin.delete(f"{API}/schedules/{sched.pk}/layers/{lid}").status_code == 204
    assert not Layer.objects.filter(pk=lid).exists()


def test_overrides_over_the_api(admin, schedule, layer, person):
    sched = schedule(time_zone="UTC")
    ana, ben = person("Ana"), person("Ben")
    layer(sched, [ana], rotation="daily", handoff_time=time(0))
    created = post(admin, f"/schedules/{sched.pk}/overrides", {
        "person": ben.pk, "replaces": ana.pk, "starts_at": "2026-01-06T10:00:00+01:00",
        "ends_at": "2026-01-06T12:00:00Z", "reason": "Dentist"})
    assert created.status_code == 201, created.content
    assert created.json()["starts_at"].startswith("2026-01-06T09:00:00")
    assert admin.get(f"{API}/schedules/{sched.pk}/overrides").json()["items"][0]["replaces"]["name"] == "Ana"
    naive = post(admin, f"/schedules/{sched.pk}/overrides", {
        "person": ben.pk, "starts_at": "2026-01-06T10:00:00", "ends_at": "2026-01-06T12:00:00"})
    assert naive.status_code == 400 and "starts_at" in naive.json()["errors"]
    unknown = post(admin, f"/schedules/{sched.pk}/overrides", {
        "person": 987654, "starts_at": "2026-01-06T10:00:00Z", "ends_at": "2026-01-06T12:00:00Z"})
    assert unknown.status_code == 400 and "person" in unknown.json()["errors"]
    assert Override.objects.count() == 1
    oid = created.json()["id"]
    assert admin.delete(f"{API}/schedules/{sched.pk}/overrides/{oid}").status_code == 204
    assert admin.delete(f"{API}/schedules/{sched.pk}/overrides/{oid}").status_code == 404


def test_who_is_on_call_with_provenance_and_shift_bounds(viewer, schedule, layer, person, make_role_held):
    sched = schedule(time_zone="Europe/Berlin")
    ana, ben, chen = person("Ana"), person("Ben"), person("Chen")
    role = make_role_held("DBA on-call", chen)
    weekly = layer(sched, [ana, ben], name="Primary", rotation="weekly", handoff_time=time(9), start_date=date(2026, 3, 23))
    url = f"{API}/schedules/{sched.pk}/oncall"
    entries = viewer.get(url, {"at": "2026-03-31T12:00:00Z"}).json()
    assert entries == [{
        "person": {"id": ben.pk, "name": "Ben"},
        "start": "2026-03-30T07:00:00Z", "end": "2026-04-06T07:00:00Z",  # Berlin summer time: 09:00 is 07:00 UTC
        "source": "layer", "layer": {"id": weekly.pk, "name": "Primary"},
        "override": None, "swap": None, "role": None, "delegated_from": None,
    }]
    override = services.add_override(sched, actor=SYSTEM, person=ana, replaces=ben,
                                     starts_at=at(2026, 3, 31, 10), ends_at=at(2026, 3, 31, 14))
    entry = viewer.get(url, {"at": "2026-03-31T14:00:00+02:00"}).json()[0]
    assert entry["source"] == "override" and entry["override"] == override.pk and entry["person"]["name"] == "Ana"
    assert (entry["start"], entry["end"]) == ("2026-03-31T10:00:00Z", "2026-03-31T14:00:00Z")

    nightly = schedule("DBA", time_zone="UTC")
    layer(nightly, [role], rotation="daily", handoff_time=time(0), start_date=date(2026, 3, 1))
    directory.delegate(chen, ana, actor=SYSTEM, starts_at=at(2026, 3, 31), ends_at=at(2026, 4, 2))
    entry = viewer.get(f"{API}/schedules/{nightly.pk}/oncall", {"at": "2026-04-01T03:00:00Z"}).json()[0]
    assert entry["person"]["name"] == "Ana" and entry["delegated_from"]["name"] == "Chen"
    assert entry["role"] == {"id": role.pk, "name": "DBA on-call"}
    # A single participant's daily shifts run together; the delegation bounds Ana's stand-in shift.
    assert (entry["start"], entry["end"]) == ("2026-03-31T00:00:00Z", "2026-04-02T00:00:00Z")


def test_bad_instants_are_refused_naming_the_parameter(viewer, schedule):
    sched = schedule()
    url = f"{API}/schedules/{sched.pk}/oncall"
    for raw in ["2026-03-31T12:00:00", "yesterday", "2026-03-31T12:00:00 02:00", "2026-03-31T12:00:00+02:00:30",
                "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]:
        refused = viewer.get(url, {"at": raw})
        assert refused.status_code == 400 and list(refused.json()["errors"]) == ["at"], (raw, refused.content)
    unencoded = viewer.get(f"{url}?at=2026-03-31T12:00:00+02:00")  # the '+' arrives as a space
    assert unencoded.status_code == 400 and "%2B" in unencoded.json()["detail"]
    assert viewer.get(url).status_code == 200  # `at` defaults to now
    assert viewer.get(f"{API}/schedules/987654/oncall").status_code == 404


def test_everyone_on_call_in_a_constant_number_of_queries(viewer, schedule, layer, person, django_assert_max_num_queries):
    def add(count):
        for _ in range(count):
            n = Schedule.objects.count()
            sched = schedule(f"S{n}", time_zone=["UTC", "Europe/Berlin", "America/Chicago"][n % 3])
            layer(sched, [person(f"P{n}a"), person(f"P{n}b")], rotation="daily", handoff_time=time(9))
            services.add_override(sched, actor=SYSTEM, person=person(f"P{n}c"),
                                  starts_at=at(2026, 2, 2, 11), ends_at=at(2026, 2, 2, 13))

    add(3)
    viewer.get(f"{API}/oncall")
    with django_assert_max_num_queries(14) as few:
        small = viewer.get(f"{API}/oncall", {"at": "2026-02-02T12:00:00Z"}).json()
    add(12)
    with django_assert_max_num_queries(len(few)):
        large = viewer.get(f"{API}/oncall", {"at": "2026-02-02T12:00:00Z"}).json()
    assert len(small) == 3 and len(large) == 15
    assert all(len(item["oncall"]) == 1 and item["oncall"][0]["source"] == "override" for item in large)
    assert all(item["oncall"][0]["end"] == "2026-02-02T13:00:00Z" for item in large)


def test_timeline_window_rules(viewer, schedule, layer, person):
    sched = schedule(time_zone="UTC")
    layer(sched, [person("Ana")], rotation="daily", handoff_time=time(0),
          restrictions=[{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}])
    url = f"{API}/schedules/{sched.pk}/shifts"
    body = viewer.get(url, {"start": "2026-01-05T00:00:00Z", "end": "2026-01-07T00:00:00Z"}).json()
    assert [(s["start"], s["end"]) for s in body["shifts"]] == [
        ("2026-01-05T09:00:00Z", "2026-01-05T17:00:00Z"), ("2026-01-06T09:00:00Z", "2026-01-06T17:00:00Z")]
    assert body["shifts"][0]["source"] == "layer" and len(body["gaps"]) == 3
    too_long = viewer.get(url, {"start": "2026-01-01T00:00:00Z", "end": "2027-01-03T00:00:00Z"})
    assert too_long.status_code == 400 and list(too_long.json()["errors"]) == ["end"]
    backwards = viewer.get(url, {"start": "2026-01-05T00:00:00Z", "end": "2026-01-05T00:00:00Z"})
    assert backwards.status_code == 400 and list(backwards.json()["errors"]) == ["end"]
    assert viewer.get(url, {"start": "2026-01-05"}).status_code == 400
    assert viewer.get(url).status_code == 200


@pytest.fixture
def users_with_people(make_user, teams, person):
    """Ana and Ben are network people with their own (viewer) logins; Max manages network."""
    made = {}
    for name in ("ana", "ben", "cy"):
        user = make_user(name, roles=["viewer"])
        made[name] = (client_of(user), person(name.title(), user=user))
    made["max"] = (client_of(make_user("max", roles=[("responder", "network")])), None)
    return made


def test_swaps_are_asked_and_answered_by_the_people_they_name(users_with_people, schedule, layer, teams):
    (ana_client, ana), (ben_client, ben), (cy_client, cy) = (users_with_people[n] for n in ("ana", "ben", "cy"))
    manager = users_with_people["max"][0]
    sched = schedule(time_zone="UTC", team=teams["network"])
    layer(sched, [ana, ben], rotation="daily", handoff_time=time(0), start_date=date(2026, 1, 5))
    body = {"requester": ana.pk, "counterpart": ben.pk, "starts_at": "2026-01-07T00:00:00Z",
            "ends_at": "2026-01-08T00:00:00Z", "note": "Dentist"}
    assert post(cy_client, f"/schedules/{sched.pk}/swaps", body).status_code == 403  # not Cy's shift
    asked = post(ana_client, f"/schedules/{sched.pk}/swaps", body)
    assert asked.status_code == 201, asked.content
    swap = asked.json()
    assert swap["status"] == "pending" and swap["requester"]["name"] == "Ana"
    not_on_call = post(ana_client, f"/schedules/{sched.pk}/swaps", {**body, "starts_at": "2026-01-06T00:00:00Z",
                                                                     "ends_at": "2026-01-07T00:00:00Z"})
    assert not_on_call.status_code == 400 and "starts_at" in not_on_call.json()["errors"]

    assert post(cy_client, f"/swaps/{swap['id']}/accept", {}).status_code == 403
    assert post(ana_client, f"/swaps/{swap['id']}/accept", {}).status_code == 403  # the requester cannot accept
    accepted = post(ben_client, f"/swaps/{swap['id']}/accept", {})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert post(ben_client, f"/swaps/{swap['id']}/decline", {}).status_code == 400  # decided already
    entry = ana_client.get(f"{API}/schedules/{sched.pk}/oncall", {"at": "2026-01-07T12:00:00Z"}).json()[0]
    assert entry["person"]["name"] == "Ben" and entry["source"] == "swap" and entry["swap"] == swap["id"]

    again = post(ana_client, f"/schedules/{sched.pk}/swaps", {**body, "starts_at": "2026-01-09T00:00:00Z",
                                                               "ends_at": "2026-01-10T00:00:00Z"}).json()
    assert post(ben_client, f"/swaps/{again['id']}/cancel", {}).status_code == 403  # only the requester withdraws
    assert post(ana_client, f"/swaps/{again['id']}/cancel", {}).json()["status"] == "cancelled"
    third = post(manager, f"/schedules/{sched.pk}/swaps", {**body, "starts_at": "2026-01-11T00:00:00Z",
                                                           "ends_at": "2026-01-12T00:00:00Z"}).json()
    assert post(manager, f"/swaps/{third['id']}/decline", {}).json()["status"] == "declined"
    listed = ana_client.get(f"{API}/schedules/{sched.pk}/swaps", {"status": "cancelled"}).json()
    assert [s["id"] for s in listed["items"]] == [again["id"]]
    assert ana_client.get(f"{API}/schedules/{sched.pk}/swaps", {"status": "lost"}).status_code == 400
    assert post(ana_client, "/swaps/987654/accept", {}).status_code == 404
    assert ShiftSwap.objects.count() == 3
