"""Incident pages with the Django test client: the filtered list, reporting by hand, the incident
page with its buttons, the actions posted from it, and the buttons hidden from those who may not."""

import re

import pytest
from django.test import Client

from tocsin.core.models import AuditEntry
from tocsin.directory import services as directory
from tocsin.engine.models import Job
from tocsin.incidents import panels, services as incidents
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.oncall import services as oncall

from .conftest import SYSTEM


@pytest.fixture
def ada(login, responder_user):
    return login(responder_user)


def _rows(response):
    """Incident numbers in the list, in page order."""
    return [int(n) for n in re.findall(r'data-incident="(\d+)"', response.content.decode())]


def _kinds(incident):
    return list(TimelineEntry.objects.filter(incident=incident).values_list("kind", flat=True))


def _status(incident):
    return Incident.objects.get(pk=incident.pk).status


# --- the list ------------------------------------------------------------------


def test_list_shows_open_incidents_with_their_columns(ada, trigger, person):
    first = trigger("Disk full")
    second = trigger("Checkout down", urgency="low")
    incidents.reassign(second, person("Bob Builder"), actor=SYSTEM)
    incidents.resolve(trigger("Old news"), actor=SYSTEM)
    response = ada.get("/incidents/")
    assert response.status_code == 200
    assert _rows(response) == [second.number, first.number]
    html = response.content.decode()
    for text in ("Checkout down", "Payments", "Bob Builder", 'data-status="triggered"', "Old news"):
        assert (text in html) == (text != "Old news"), text
    assert 'id="report"' in html


def test_list_filters(ada, trigger, routing, responder_user, person):
    a = trigger("Disk full", urgency="low")
    b = trigger("Routing flaps", service=routing)
    c = trigger("Latency up")
    d = trigger("Certificate expired")
    incidents.acknowledge(b, actor=SYSTEM)
    incidents.reassign(c, responder_user.person, actor=SYSTEM)
    incidents.resolve(d, actor=SYSTEM)
    Incident.objects.filter(pk=a.pk).update(unpaged=True)

    def listed(query):
        response = ada.get(f"/incidents/?{query}")
        assert response.status_code == 200
        return sorted(_rows(response))

    assert listed("") == sorted([a.number, b.number, c.number])
    assert listed("status=resolved") == [d.number]
    assert listed("status=acknowledged&status=resolved") == sorted([b.number, d.number])
    assert listed(f"service={routing.pk}") == [b.number]
    assert listed("urgency=low") == [a.number]
    assert listed("mine=on") == [c.number]
    assert listed("unpaged=on") == [a.number]


def test_a_bad_filter_is_shown_not_obeyed(ada, trigger):
    trigger()
    response = ada.get("/incidents/?status=bogus&service=abc")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Select a valid choice" in html and len(_rows(response)) == 1


def test_list_queries_do_not_grow_with_the_rows(ada, trigger, person, django_assert_max_num_queries):
    def add(count, prefix):
        for n in range(count):
            incident = trigger(f"{prefix} {n}")
            incidents.reassign(incident, person(f"{prefix} person {n}"), actor=SYSTEM)

    add(3, "few")
    with django_assert_max_num_queries(20) as few:
        assert len(_rows(ada.get("/incidents/"))) == 3
    add(27, "many")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(_rows(ada.get("/incidents/"))) == 30


def test_list_is_paginated(ada, trigger):
    for n in range(55):
        trigger(f"Incident {n}")
    first = ada.get("/incidents/")
    assert len(_rows(first)) == 50 and "Page 1 of 2" in first.content.decode()
    assert len(_rows(ada.get("/incidents/?page=2"))) == 5


def test_the_list_needs_incidents_read(login, make_user, client):
    assert login(make_user("norole")).get("/incidents/").status_code == 403
    assert client.get("/incidents/").status_code == 302  # to the sign-in page


# --- reporting by hand --------------------------------------------------------


def test_report_by_hand_redirects_to_the_incident(ada, payments, responder_user):
    form = ada.get("/incidents/new/")
    assert form.status_code == 200 and "Payments" in form.content.decode()
    response = ada.post("/incidents/new/", {"service": payments.pk, "title": "Checkout down",
                                            "details": "Every card", "urgency": "low"})
    incident = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/incidents/{incident.number}/"
    assert (incident.title, incident.urgency, incident.source, incident.created_by) == (
        "Checkout down", "low", "manual", responder_user)
    page = ada.get(response["Location"])
    assert "Checkout down" in page.content.decode() and "is open" in page.content.decode()


@pytest.mark.parametrize("fields, field", [
    ({"title": "   "}, "title"), ({"urgency": "urgent"}, "urgency"), ({"service": 99999}, "service"),
])
def test_bad_report_input_is_400_beside_the_field(ada, payments, fields, field):
    response = ada.post("/incidents/new/", {"service": payments.pk, "title": "x", "urgency": "high", **fields})
    assert response.status_code == 400
    assert response.context["form"].errors.keys() == {field}
    assert not Incident.objects.exists()


def test_report_only_for_services_of_teams_in_reach(login, network_user, viewer_user, payments, routing):
    nell = login(network_user)
    form = nell.get("/incidents/new/").content.decode()
    assert "Routing" in form and "Payments" not in form
    response = nell.post("/incidents/new/", {"service": payments.pk, "title": "Not mine", "urgency": "high"})
    assert response.status_code == 400 and "service" in response.context["form"].errors
    assert login(viewer_user).get("/incidents/new/").status_code == 403
    assert 'id="report"' not in login(viewer_user).get("/incidents/").content.decode()
    assert not Incident.objects.exists()


# --- the incident page --------------------------------------------------------


def test_incident_page_shows_header_timeline_responders_and_buttons(ada, trigger, person):
    incident = trigger("Checkout down", details="Since 09:00")
    incidents.reassign(incident, person("Bob Builder"), actor=SYSTEM)
    incidents.add_note(incident, "Vendor called", actor=SYSTEM)
    response = ada.get(f"/incidents/{incident.number}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f"#{incident.number}" in html and 'id="status"' in html and 'data-status="triggered"' in html
    for button in ('id="ack"', 'id="resolve"', 'id="snooze-30"', 'id="snooze-60"', 'id="snooze-240"',
                   'id="escalate"', 'id="reassign"', 'id="add-responders"', 'id="add-note"'):
        assert button in html, button
    assert 'id="retrigger"' not in html
    assert "Since 09:00" in html and "Vendor called" in html and "Bob Builder" in html
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", html)
    assert 'name="csrfmiddlewaretoken"' in html


def test_unknown_incident_is_404(ada):
    assert ada.get("/incidents/999/").status_code == 404
    assert ada.post("/incidents/999/acknowledge/").status_code == 404


def test_acknowledge_retrigger_and_resolve_buttons(ada, trigger):
    incident = trigger()
    page = f"/incidents/{incident.number}/"
    response = ada.post(f"{page}acknowledge/")
    assert response.status_code == 302 and response["Location"] == page
    assert _status(incident) == "acknowledged"
    html = ada.get(page).content.decode()
    assert 'data-status="acknowledged"' in html and 'id="retrigger"' in html and 'id="ack"' not in html
    assert ada.post(f"{page}unacknowledge/").status_code == 302 and _status(incident) == "triggered"
    assert ada.post(f"{page}resolve/", {"resolve-note": "Rolled back"}).status_code == 302
    assert _status(incident) == "resolved"
    html = ada.get(page).content.decode()
    assert 'data-status="resolved"' in html and "Rolled back" in html
    for button in ('id="ack"', 'id="resolve"', 'id="snooze-30"', 'id="escalate"', 'id="reassign"'):
        assert button not in html, button
    assert 'id="add-note"' in html
    acknowledged = TimelineEntry.objects.get(incident=incident, kind="acknowledged")
    assert acknowledged.message.endswith("via web.") and acknowledged.actor_label == "ada"


def test_acting_on_a_resolved_incident_shows_why(ada, trigger):
    incident = trigger()
    incidents.resolve(incident, actor=SYSTEM)
    response = ada.post(f"/incidents/{incident.number}/acknowledge/")
    assert response.status_code == 400
    assert "is resolved; it cannot be acknowledged" in response.content.decode()
    assert _kinds(incident) == ["created", "resolved"]


def test_snooze_buttons(ada, trigger):
    incident = trigger()
    assert ada.post(f"/incidents/{incident.number}/snooze/", {"minutes": "60"}).status_code == 302
    stored = Incident.objects.get(pk=incident.pk)
    assert stored.status == "acknowledged" and stored.snoozed_until is not None
    assert Job.objects.filter(kind="incidents.snooze_end").count() == 1
    bad = ada.post(f"/incidents/{incident.number}/snooze/", {"minutes": "100000"})
    assert bad.status_code == 400 and "Snooze for 30, 60, 240 minutes" in bad.content.decode()


def test_reassign_note_responders_and_escalate(ada, trigger, person, teams):
    incident = trigger()
    page = f"/incidents/{incident.number}/"
    bob = person("Bob Builder")
    role = directory.create_role(actor=SYSTEM, name="IT Manager")
    schedule = oncall.create_schedule(actor=SYSTEM, name="Platform primary", team=teams["platform"])
    assert ada.post(f"{page}reassign/", {"reassign-person": bob.pk}).status_code == 302
    assert Incident.objects.get(pk=incident.pk).assigned_to == bob
    assert ada.post(f"{page}notes/", {"note-text": "Looking at the logs"}).status_code == 302
    response = ada.post(f"{page}responders/", {"responders-people": [bob.pk], "responders-roles": [role.pk],
                                                "responders-schedules": [schedule.pk],
                                                "responders-message": "All hands"})
    assert response.status_code == 302
    assert ada.post(f"{page}escalate/").status_code == 302
    assert _kinds(incident)[:4] == ["created", "reassigned", "note", "responders"]
    entry = TimelineEntry.objects.get(incident=incident, kind="responders")
    assert len(entry.data["targets"]) == 3 and entry.data["message"] == "All hands"
    audited = AuditEntry.objects.get(action="incident.escalate_now", object_id=str(incident.pk))
    assert audited.summary["via"] == "web"
    escalated = TimelineEntry.objects.get(incident=incident, kind="escalated", data__by_hand=True)
    assert escalated.message == "Escalated to the next tier by ada via web." and escalated.data["via"] == "web"


def test_bad_action_input_is_400_beside_the_form(ada, trigger, person):
    incident = trigger()
    page = f"/incidents/{incident.number}/"
    gone = person("Gone")
    directory.deactivate_person(gone, actor=SYSTEM)
    reassign = ada.post(f"{page}reassign/", {"reassign-person": gone.pk})
    assert reassign.status_code == 400 and "person" in reassign.context["reassign_form"].errors
    note = ada.post(f"{page}notes/", {"note-text": "  "})
    assert note.status_code == 400 and "text" in note.context["note_form"].errors
    nobody = ada.post(f"{page}responders/", {"responders-message": "hello"})
    assert nobody.status_code == 400
    assert "Choose at least one" in nobody.context["responders_form"].non_field_errors()[0]
    unknown = ada.post(f"{page}responders/", {"responders-people": [99999]})
    assert unknown.status_code == 400 and "people" in unknown.context["responders_form"].errors
    assert _kinds(incident) == ["created"]


# --- permissions ----------------------------------------------------------------


def test_buttons_are_hidden_from_those_who_may_not_use_them(login, viewer_user, network_user, trigger):
    incident = trigger()
    for user in (viewer_user, network_user):
        response = login(user).get(f"/incidents/{incident.number}/")
        assert response.status_code == 200
        html = response.content.decode()
        for button in ('id="ack"', 'id="resolve"', 'id="snooze-30"', 'id="escalate"', 'id="reassign"',
                       'id="add-note"', 'id="add-responders"'):
            assert button not in html, (user.username, button)
        assert 'id="status"' in html


def test_escalate_is_hidden_without_escalation_initiate(ada, trigger, monkeypatch):
    from tocsin.core import permissions

    monkeypatch.setitem(permissions.MATRIX, "responder",
                        permissions.MATRIX["responder"] - {"escalation:initiate"})
    incident = trigger()
    html = ada.get(f"/incidents/{incident.number}/").content.decode()
    assert 'id="ack"' in html and 'id="escalate"' not in html
    assert ada.post(f"/incidents/{incident.number}/escalate/").status_code == 403
    assert not AuditEntry.objects.filter(action="incident.escalate_now").exists()


@pytest.mark.parametrize("action, data", [
    ("acknowledge", {}), ("unacknowledge", {}), ("resolve", {}), ("snooze", {"minutes": "30"}),
    ("escalate", {}), ("reassign", {"reassign-person": "1"}), ("notes", {"note-text": "hi"}),
    ("responders", {"responders-message": "hi"}),
])
def test_every_action_checks_permission_again(login, network_user, trigger, action, data):
    incident = trigger()
    response = login(network_user).post(f"/incidents/{incident.number}/{action}/", data)
    assert response.status_code == 403
    assert "You do not have permission" in response.content.decode()
    assert _kinds(incident) == ["created"] and _status(incident) == "triggered"


def test_actions_need_csrf_and_post(trigger, responder_user, ada):
    incident = trigger()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(responder_user)
    assert strict.post(f"/incidents/{incident.number}/acknowledge/").status_code == 403
    assert ada.get(f"/incidents/{incident.number}/acknowledge/").status_code == 405
    assert _status(incident) == "triggered"


# --- panels from other apps -------------------------------------------------------


def test_registered_panels_are_rendered_with_their_context(ada, trigger, monkeypatch):
    incident = trigger()
    monkeypatch.setattr(panels, "_panels", [])
    panels.register("incidents/_status.html", lambda inc, request: {"status": f"panel-{inc.number}",
                                                                     "badge_id": "from-panel"})
    panels.register("incidents/_status.html", lambda inc, request: None)  # not for this incident
    html = ada.get(f"/incidents/{incident.number}/").content.decode()
    assert f'data-status="panel-{incident.number}"' in html and 'id="from-panel"' in html
    assert html.count('id="from-panel"') == 1


def test_incident_page_queries_do_not_grow_with_the_timeline(ada, trigger, person, django_assert_max_num_queries):
    incident = trigger()

    def add(count, prefix):
        for n in range(count):
            incidents.add_note(incident, f"{prefix} note {n}", actor=SYSTEM)
            incidents.add_responders(incident, [person(f"{prefix} {n}")], actor=SYSTEM)
            incidents.reassign(incident, person(f"{prefix} owner {n}"), actor=SYSTEM)

    add(2, "few")
    with django_assert_max_num_queries(40) as few:
        assert ada.get(f"/incidents/{incident.number}/").status_code == 200
    add(20, "many")
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = ada.get(f"/incidents/{incident.number}/").content.decode()
    assert "many note 19" in html and "many owner 19" in html
