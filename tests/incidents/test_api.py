"""Incidents over the JSON API: filters, reporting by hand, each action, team-scoped permissions,
and precise 4xx answers that leave nothing half-written."""

from datetime import datetime, timedelta, timezone

import pytest

from tocsin.core.models import AuditEntry
from tocsin.directory import services as directory
from tocsin.directory.models import OrgRole
from tocsin.engine.models import Job
from tocsin.incidents import services as incidents
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.oncall import services as oncall

from .conftest import JSON, SYSTEM


@pytest.fixture
def api(bearer, responder_user):
    return bearer(responder_user)


def _post(client, url, body=None):
    return client.post(url, body if body is not None else {}, content_type=JSON)


def _kinds(incident):
    return list(TimelineEntry.objects.filter(incident=incident).values_list("kind", flat=True))


# --- reading ------------------------------------------------------------------


def test_list_shows_open_incidents_newest_first(api, trigger):
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    old = trigger("Old", at=t0)
    new = trigger("New", at=t0 + timedelta(minutes=5))
    done = trigger("Done", at=t0 + timedelta(minutes=9))
    incidents.resolve(done, actor=SYSTEM)
    body = api.get("/api/v1/incidents").json()
    assert body["count"] == 2
    assert [row["number"] for row in body["items"]] == [new.number, old.number]
    row = body["items"][0]
    assert (row["title"], row["status"], row["urgency"], row["service"]["name"], row["reference"]) == (
        "New", "triggered", "high", "Payments", f"#{new.number}")


def test_list_filters(api, trigger, routing, person, responder_user):
    ada = responder_user.person
    bob = person("Bob")
    a = trigger("Disk full", urgency="low")
    b = trigger("Routing flaps", service=routing)
    c = trigger("Latency up")
    d = trigger("Certificate expired")
    incidents.acknowledge(b, actor=SYSTEM)
    incidents.reassign(c, ada, actor=SYSTEM)
    incidents.reassign(a, bob, actor=SYSTEM)
    incidents.resolve(d, actor=SYSTEM)
    Incident.objects.filter(pk=c.pk).update(unpaged=True)

    def numbers(query):
        response = api.get(f"/api/v1/incidents?{query}")
        assert response.status_code == 200, response.content
        return sorted(row["number"] for row in response.json()["items"])

    assert numbers("") == sorted([a.number, b.number, c.number])
    assert numbers("status=resolved") == [d.number]
    assert numbers("status=acknowledged&status=resolved") == sorted([b.number, d.number])
    assert numbers("status=triggered,resolved") == sorted([a.number, c.number, d.number])
    assert numbers(f"service={routing.pk}") == [b.number]
    assert numbers("urgency=low") == [a.number]
    assert numbers("assigned_to=me") == [c.number]
    assert numbers(f"assigned_to={bob.pk}") == [a.number]
    assert numbers("unpaged=true") == [c.number]
    assert numbers("unpaged=false") == sorted([a.number, b.number])
    assert numbers("q=disk") == [a.number]
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert numbers(f"created_after={later}") == []
    assert numbers(f"created_before={later}") == sorted([a.number, b.number, c.number])


def test_assigned_to_me_without_a_linked_person_matches_nothing(bearer, viewer_user, trigger, person):
    incidents.reassign(trigger(), person("Bob"), actor=SYSTEM)
    assert bearer(viewer_user).get("/api/v1/incidents?assigned_to=me").json()["count"] == 0


@pytest.mark.parametrize("query, field", [
    ("status=open", "status"), ("status=triggered,bogus", "status"), ("urgency=urgent", "urgency"),
    ("assigned_to=you", "assigned_to"), ("service=0", "service"), ("created_after=yesterday", "created_after"),
    ("limit=0", "limit"),
])
def test_bad_filters_are_4xx_naming_the_parameter(api, query, field):
    response = api.get(f"/api/v1/incidents?{query}")
    assert response.status_code in (400, 422), response.content
    assert field in response.content.decode()


def test_list_is_paginated_in_bounded_queries(api, trigger, django_assert_max_num_queries):
    for n in range(3):
        incidents.reassign(trigger(f"Few {n}"), directory.create_person(actor=SYSTEM, name=f"P{n}"), actor=SYSTEM)
    with django_assert_max_num_queries(8) as few:
        assert api.get("/api/v1/incidents").json()["count"] == 3
    for n in range(30):
        incidents.reassign(trigger(f"Many {n}"), directory.create_person(actor=SYSTEM, name=f"Q{n}"), actor=SYSTEM)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = api.get("/api/v1/incidents?limit=20&offset=5").json()
    assert body["count"] == 33 and len(body["items"]) == 20


def test_get_by_id_and_by_number_with_timeline_and_responders(api, trigger, person):
    incident = trigger(details="Since 09:00")
    incidents.reassign(incident, person("Bob"), actor=SYSTEM)
    by_id = api.get(f"/api/v1/incidents/{incident.pk}")
    by_number = api.get(f"/api/v1/incidents/by-number/{incident.number}")
    assert by_id.status_code == by_number.status_code == 200
    assert by_id.json() == by_number.json()
    body = by_id.json()
    assert body["details"] == "Since 09:00"
    assert [e["kind"] for e in body["timeline"]] == ["created", "reassigned"]
    assert body["responders"][0]["person"]["name"] == "Bob" and body["responders"][0]["reason"] == "assigned"
    assert body["assigned_to"]["name"] == "Bob"


def test_unknown_incidents_are_404(api):
    for url in ("/api/v1/incidents/999", "/api/v1/incidents/by-number/999"):
        assert api.get(url).status_code == 404
    for action in ("acknowledge", "resolve", "unacknowledge", "escalate"):
        assert _post(api, f"/api/v1/incidents/999/{action}").status_code == 404
    assert api.get(f"/api/v1/incidents/{2**63}").status_code in (400, 422)
    assert api.get(f"/api/v1/incidents/by-number/{2**40}").status_code in (400, 422)


# --- reporting by hand ---------------------------------------------------------


def test_create_by_hand_is_a_manual_report(api, payments, responder_user):
    response = _post(api, "/api/v1/incidents", {"service_id": payments.pk, "title": " Checkout down ",
                                                "details": "All cards", "urgency": "low"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["title"], body["urgency"], body["source"], body["status"]) == ("Checkout down", "low", "manual",
                                                                                 "triggered")
    assert body["timeline"][0]["kind"] == "created" and body["timeline"][0]["actor_type"] == "token"
    incident = Incident.objects.get(pk=body["id"])
    assert incident.created_by == responder_user
    assert AuditEntry.objects.filter(action="incident.trigger", object_id=str(incident.pk)).exists()


@pytest.mark.parametrize("body, field, status", [
    ({"service_id": 999, "title": "x"}, "service_id", 400),
    ({"title": "x"}, "service_id", 422),
    ({"service_id": 1, "title": "   "}, "title", 400),
    ({"service_id": 1, "title": "x", "urgency": "urgent"}, "urgency", 400),
    ({"service_id": 1, "title": "x" * 256}, "title", 422),
    ({"service_id": 1, "title": "x", "details": "\x00"}, "details", 422),
])
def test_bad_create_input_is_4xx_naming_the_field_and_saves_nothing(api, payments, body, field, status):
    if body.get("service_id") == 1:
        body = {**body, "service_id": payments.pk}
    response = _post(api, "/api/v1/incidents", body)
    assert response.status_code == status, response.content
    if status == 400:
        assert field in response.json()["errors"]
    else:
        assert field in response.content.decode()
    assert not Incident.objects.exists()


def test_create_needs_respond_on_the_services_team(bearer, viewer_user, network_user, payments, routing):
    body = {"service_id": payments.pk, "title": "Checkout down"}
    for user in (viewer_user, network_user):
        response = _post(bearer(user), "/api/v1/incidents", body)
        assert response.status_code == 403 and response.json()["permission"] == "incidents:respond"
    assert not Incident.objects.exists()
    assert _post(bearer(network_user), "/api/v1/incidents", {**body, "service_id": routing.pk}).status_code == 201


def test_reading_needs_incidents_read(bearer, make_user, trigger, client):
    incident = trigger()
    nobody = bearer(make_user("norole"))
    assert nobody.get("/api/v1/incidents").status_code == 403
    assert nobody.get(f"/api/v1/incidents/{incident.pk}").status_code == 403
    assert client.get("/api/v1/incidents").status_code == 401


# --- actions --------------------------------------------------------------------


def test_acknowledge_resolve_and_retrigger(api, trigger):
    incident = trigger()
    url = f"/api/v1/incidents/{incident.pk}"
    acked = _post(api, f"{url}/acknowledge")
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    assert acked.json()["timeline"][-1]["message"].endswith("via api.")
    assert _post(api, f"{url}/unacknowledge").json()["status"] == "triggered"
    assert _post(api, f"{url}/unacknowledge").json()["errors"].keys() == {"status"}
    resolved = _post(api, f"{url}/resolve", {"note": "Rolled back"})
    assert resolved.status_code == 200
    body = resolved.json()
    assert body["status"] == "resolved" and body["resolved_at"]
    assert body["timeline"][-1]["message"] == "Resolved by ada/test via api. Rolled back"
    assert _kinds(incident) == ["created", "acknowledged", "unacknowledged", "resolved"]


def test_resolve_without_a_body(api, trigger):
    incident = trigger()
    response = api.post(f"/api/v1/incidents/{incident.pk}/resolve", "", content_type=JSON)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "resolved"


def test_actions_on_a_resolved_incident_are_400_naming_status(api, trigger, person):
    incident = trigger()
    incidents.resolve(incident, actor=SYSTEM)
    url = f"/api/v1/incidents/{incident.pk}"
    bob = person("Bob")
    for action, body in [("acknowledge", None), ("unacknowledge", None), ("snooze", {"minutes": 30}),
                         ("reassign", {"person_id": bob.pk}), ("escalate", None),
                         ("responders", {"targets": [{"type": "person", "id": bob.pk}]})]:
        response = _post(api, f"{url}/{action}", body)
        assert response.status_code == 400, (action, response.content)
        assert list(response.json()["errors"]) == ["status"], action
    assert _kinds(incident) == ["created", "resolved"]
    # Resolving again changes nothing; a note after the fact is still welcome.
    assert _post(api, f"{url}/resolve").status_code == 200
    assert _post(api, f"{url}/notes", {"text": "Post-mortem on Friday"}).status_code == 201
    assert _kinds(incident) == ["created", "resolved", "note"]


def test_snooze(api, trigger):
    incident = trigger()
    response = _post(api, f"/api/v1/incidents/{incident.pk}/snooze", {"minutes": 60})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "acknowledged" and body["snoozed_until"]
    assert Job.objects.filter(kind="incidents.snooze_end", state=Job.PENDING).count() == 1


@pytest.mark.parametrize("minutes", [0, -5, 100000])
def test_snooze_out_of_range_is_400_naming_minutes(api, trigger, minutes):
    incident = trigger()
    response = _post(api, f"/api/v1/incidents/{incident.pk}/snooze", {"minutes": minutes})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["minutes"]
    assert _kinds(incident) == ["created"]
    assert Incident.objects.get(pk=incident.pk).status == "triggered"


def test_snooze_with_wrong_types_is_422(api, trigger):
    incident = trigger()
    for body in ({"minutes": "soon"}, {"minutes": 1.5}, {}):
        response = _post(api, f"/api/v1/incidents/{incident.pk}/snooze", body)
        assert response.status_code == 422 and "minutes" in response.content.decode()


def test_reassign(api, trigger, person):
    incident = trigger()
    bob = person("Bob")
    response = _post(api, f"/api/v1/incidents/{incident.pk}/reassign", {"person_id": bob.pk})
    assert response.status_code == 200
    assert response.json()["assigned_to"] == {"id": bob.pk, "name": "Bob"}


def test_reassign_to_an_unknown_or_deactivated_person_is_400(api, trigger, person):
    incident = trigger()
    gone = person("Gone")
    directory.deactivate_person(gone, actor=SYSTEM)
    url = f"/api/v1/incidents/{incident.pk}/reassign"
    unknown = _post(api, url, {"person_id": 99999})
    assert unknown.status_code == 400 and unknown.json()["detail"] == "person_id: Unknown person 99999."
    deactivated = _post(api, url, {"person_id": gone.pk})
    assert deactivated.status_code == 400 and "deactivated" in deactivated.json()["errors"]["person_id"][0]
    assert Incident.objects.get(pk=incident.pk).assigned_to is None
    assert _kinds(incident) == ["created"]


def test_notes(api, trigger):
    incident = trigger()
    url = f"/api/v1/incidents/{incident.pk}/notes"
    response = _post(api, url, {"text": "Vendor called back"})
    assert response.status_code == 201 and response.json()["timeline"][-1]["message"] == "Vendor called back"
    empty = _post(api, url, {"text": "  "})
    assert empty.status_code == 400 and list(empty.json()["errors"]) == ["text"]
    assert _kinds(incident) == ["created", "note"]


def test_add_responders_of_each_kind(api, trigger, person, teams):
    incident = trigger()
    bob = person("Bob")
    role = directory.create_role(actor=SYSTEM, name="IT Manager")
    schedule = oncall.create_schedule(actor=SYSTEM, name="Platform primary", team=teams["platform"])
    targets = [{"type": "person", "id": bob.pk}, {"type": "role", "id": role.pk},
               {"type": "schedule", "id": schedule.pk}]
    response = _post(api, f"/api/v1/incidents/{incident.pk}/responders", {"targets": targets, "message": "Join"})
    assert response.status_code == 200, response.content
    entry = response.json()["timeline"][-1]
    assert entry["kind"] == "responders"
    assert entry["data"]["targets"] == [{"type": "person", "id": bob.pk}, {"type": "orgrole", "id": role.pk},
                                        {"type": "schedule", "id": schedule.pk}]


@pytest.mark.parametrize("targets, message", [
    ([{"type": "person", "id": 99999}], "targets[0]: unknown person 99999."),
    ([{"type": "role", "id": 99999}], "targets[0]: unknown role 99999."),
    ([{"type": "schedule", "id": 99999}], "targets[0]: unknown schedule 99999."),
    ([], "Name at least one person, role or schedule to page."),
])
def test_add_responders_with_unknown_targets_is_400(api, trigger, targets, message):
    incident = trigger()
    response = _post(api, f"/api/v1/incidents/{incident.pk}/responders", {"targets": targets})
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {"targets": [message]}
    assert _kinds(incident) == ["created"]


def test_add_responders_with_a_bad_type_or_deactivated_person(api, trigger, person):
    incident = trigger()
    gone = person("Gone")
    directory.deactivate_person(gone, actor=SYSTEM)
    url = f"/api/v1/incidents/{incident.pk}/responders"
    assert _post(api, url, {"targets": [{"type": "team", "id": 1}]}).status_code == 422
    response = _post(api, url, {"targets": [{"type": "person", "id": gone.pk}]})
    assert response.status_code == 400 and "deactivated" in response.json()["errors"]["targets"][0]
    assert _kinds(incident) == ["created"]


def test_escalate_now(api, trigger):
    incident = trigger()
    response = _post(api, f"/api/v1/incidents/{incident.pk}/escalate")
    assert response.status_code == 200
    assert response.json()["timeline"][-1]["message"] == "Escalated to the next tier by ada/test via api."
    audited = AuditEntry.objects.get(action="incident.escalate_now", object_id=str(incident.pk))
    assert audited.summary["via"] == "api"


# --- permissions -----------------------------------------------------------------


ACTIONS = [
    ("acknowledge", None), ("unacknowledge", None), ("resolve", None), ("snooze", {"minutes": 30}),
    ("reassign", {"person_id": 1}), ("notes", {"text": "hello"}), ("escalate", None),
    ("responders", {"targets": [{"type": "person", "id": 1}]}),
]


@pytest.mark.parametrize("action, body", ACTIONS)
@pytest.mark.parametrize("who", ["viewer_user", "network_user"])
def test_each_action_needs_a_permission_on_the_services_team(request, bearer, trigger, action, body, who):
    incident = trigger()
    client = bearer(request.getfixturevalue(who))
    response = _post(client, f"/api/v1/incidents/{incident.pk}/{action}", body)
    assert response.status_code == 403, response.content
    expected = "escalation:initiate" if action == "escalate" else "incidents:respond"
    assert response.json()["permission"] == expected
    assert _kinds(incident) == ["created"]
    assert AuditEntry.objects.filter(action="permission.denied", summary__permission=expected).exists()


def test_escalating_needs_escalation_initiate_even_for_a_responder(bearer, responder_user, trigger):
    """A token limited to responding may acknowledge but not start escalation."""
    incident = trigger()
    client = bearer(responder_user, scopes=["incidents:read", "incidents:respond"])
    denied = _post(client, f"/api/v1/incidents/{incident.pk}/escalate")
    assert denied.status_code == 403 and denied.json()["permission"] == "escalation:initiate"
    assert _post(client, f"/api/v1/incidents/{incident.pk}/acknowledge").status_code == 200


def test_a_team_scoped_role_reaches_only_its_team(bearer, make_user, trigger, routing):
    user = make_user("scoped", roles=[("responder", "network")])
    client = bearer(user)
    assert _post(client, f"/api/v1/incidents/{trigger().pk}/acknowledge").status_code == 403
    assert _post(client, f"/api/v1/incidents/{trigger(service=routing).pk}/acknowledge").status_code == 200


def test_org_role_lookup_is_by_id(api, trigger):
    """A role id of another kind of target is not confused with it."""
    incident = trigger()
    role = directory.create_role(actor=SYSTEM, name="Duty manager")
    assert OrgRole.objects.filter(pk=role.pk).exists()
    response = _post(api, f"/api/v1/incidents/{incident.pk}/responders",
                     {"targets": [{"type": "schedule", "id": role.pk}]})
    assert response.status_code == 400


def test_an_assignee_id_out_of_range_is_refused_by_name(db, make_user, bearer):
    client = bearer(make_user("vic", roles=["viewer"]))
    response = client.get("/api/v1/incidents?assigned_to=9999999999999999999")
    assert response.status_code == 400 and "assigned_to" in response.json()["errors"]
