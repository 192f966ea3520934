"""Escalation in the browser's HTML: the tier builder works without JavaScript (blank rows ignored,
errors shown at the row and field they name, nothing saved half-way), an edit is a new version with
its reason, only managers of the policy's team change it, and the incident page's panel."""

from datetime import timedelta

import pytest
from django.db import connection
from django.template import Context, Template
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from tocsin.catalog import services as catalog
from tocsin.core.models import AuditEntry
from tocsin.directory import services as directory
from tocsin.escalation import panel, services
from tocsin.escalation.models import EscalationPolicy, PolicyVersion, ServicePolicy
from tocsin.incidents import panels
from tocsin.incidents import services as incidents
from tocsin.oncall import services as oncall

from .conftest import SYSTEM, T0, tier

BLANK = {"delay_minutes": "", "path": "technical", "selection": "all", "tags": ""}  # as a browser sends it


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def builder_data(*rows, name="Network", team="", reason="", repeat="0", follow_up="15", fallback=(),
                 deadlines=(), initial=0, extra=3, **more):
    """The POST of the policy form: tier rows as a browser submits them, blank rows included."""
    data = {"name": name, "description": "", "team": team, "repeat": repeat, "follow_up_minutes": follow_up,
            "reason": reason, "fallback": list(fallback), **more}
    rows = [*rows, *[BLANK] * extra]
    data.update({"tiers-TOTAL_FORMS": len(rows), "tiers-INITIAL_FORMS": initial,
                 "tiers-MIN_NUM_FORMS": 0, "tiers-MAX_NUM_FORMS": 1000})
    for index, row in enumerate(rows):
        data.update({f"tiers-{index}-{key}": value for key, value in {**BLANK, **row}.items()})
    deadline_rows = [*deadlines, {}, {}]
    data.update({"deadlines-TOTAL_FORMS": len(deadline_rows), "deadlines-INITIAL_FORMS": 0,
                 "deadlines-MIN_NUM_FORMS": 0, "deadlines-MAX_NUM_FORMS": 1000})
    for index, row in enumerate(deadline_rows):
        data.update({f"deadlines-{index}-{key}": value
                     for key, value in {"after_minutes": "", "tier": "", "urgency": "", **row}.items()})
    return data


@pytest.fixture
def world(make_team, make_user, person, service):
    network = make_team("Network")
    ana, ben = person("Ana"), person("Ben")
    role = directory.create_role(actor=SYSTEM, name="IT Manager")
    schedule = oncall.create_schedule(actor=SYSTEM, name="Network primary")
    return {
        "network": network, "platform": service.owner_team, "service": service,
        "ana": ana, "ben": ben, "role": role, "schedule": schedule,
        "admin": make_user("root", roles=["admin"]),
        "manager": make_user("nora", roles=["responder"], teams=["network"]),
        "viewer": make_user("vera", roles=["viewer"]),
    }


def saved():
    return (EscalationPolicy.objects.count(), PolicyVersion.objects.count(), AuditEntry.objects.count())


# --- building a policy ---------------------------------------------------------------------------


def test_the_builder_page_offers_people_roles_and_schedules(world):
    body = client_for(world["admin"]).get("/escalation/policies/new/").content.decode()
    for name in ("tiers-0-delay_minutes", "tiers-0-path", "tiers-0-targets", "tiers-0-backup", "tiers-0-selection",
                 "tiers-0-tags", "tiers-2-targets", "repeat", "follow_up_minutes", "fallback", "reason",
                 "deadlines-0-after_minutes", "deadlines-0-tier", "deadlines-0-urgency", "tiers-TOTAL_FORMS"):
        assert f'name="{name}"' in body, name
    assert 'id="id_tiers-0-delay_minutes"' in body and 'id="save-policy"' in body
    for value in (f"person:{world['ana'].pk}", f"role:{world['role'].pk}", f"schedule:{world['schedule'].pk}"):
        assert f'value="{value}"' in body


def test_creating_a_policy_with_the_tier_formset(world):
    ana, ben, role, schedule = world["ana"], world["ben"], world["role"], world["schedule"]
    data = builder_data(
        {"delay_minutes": "5", "targets": [f"person:{ana.pk}"]},
        BLANK,  # an unused row between two tiers is ignored
        {"delay_minutes": "15", "path": "managerial", "targets": [f"role:{role.pk}", f"schedule:{schedule.pk}"],
         "backup": [f"person:{ben.pk}"], "selection": "expertise", "tags": "BGP, network "},
        team=world["network"].pk, repeat="1", follow_up="0", fallback=[f"person:{ben.pk}"],
        deadlines=[{"after_minutes": "30", "tier": "2", "urgency": "high"}])
    response = client_for(world["manager"]).post("/escalation/policies/new/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    policy = EscalationPolicy.objects.get(name="Network")
    assert response["Location"] == f"/escalation/policies/{policy.pk}/"
    assert policy.team == world["network"] and policy.current.number == 1 and policy.current.reason == "Created"
    spec = policy.current.spec
    assert [t["delay_minutes"] for t in spec["tiers"]] == [5, 15]
    assert spec["tiers"][1] == {"delay_minutes": 15, "path": "managerial",
                                "targets": [{"type": "role", "id": role.pk}, {"type": "schedule", "id": schedule.pk}],
                                "backup": [{"type": "person", "id": ben.pk}], "selection": "expertise",
                                "tags": ["bgp", "network"]}
    assert (spec["repeat"], spec["follow_up_minutes"]) == (1, 0)
    assert spec["deadlines"] == [{"after_minutes": 30, "tier": 1, "urgency": "high"}]
    assert spec["fallback"] == [{"type": "person", "id": ben.pk}]

    page = client_for(world["viewer"]).get(response["Location"]).content.decode()
    assert "Tier 1" in page and "Tier 2" in page and "Role: IT Manager" in page
    assert "Schedule: Network primary" in page and "Backup: Ben" in page and "Matching expertise" in page
    assert "unresolved after 30 min → tier 2 (high urgency)" in page


def test_errors_are_shown_at_the_row_and_field_and_nothing_is_saved(world):
    ana = world["ana"]
    admin = client_for(world["admin"])
    before = saved()
    data = builder_data({"delay_minutes": "5", "targets": [f"person:{ana.pk}"]}, BLANK,
                        {"delay_minutes": "0", "targets": [f"person:{ana.pk}"]}, repeat="10")
    response = admin.post("/escalation/policies/new/", data)
    assert response.status_code == 400
    body = response.content.decode()
    # The second tier of the document is the third row of the form: its error is shown there.
    row = body[body.index('id="tier-2"'):body.index('id="tier-3"')]
    assert "greater than or equal to 1" in row and 'name="tiers-2-delay_minutes"' in row
    assert "greater than or equal to 1" not in body[body.index('id="tier-0"'):body.index('id="tier-1"')]
    repeat = body[body.index('esc-field-repeat'):]
    assert "less than or equal to 9" in repeat[:repeat.index("</div>")]
    assert saved() == before

    empty = admin.post("/escalation/policies/new/", builder_data())
    assert empty.status_code == 400 and "A policy needs at least one tier." in empty.content.decode()
    no_targets = admin.post("/escalation/policies/new/", builder_data({"delay_minutes": "5"}))
    assert no_targets.status_code == 400 and "This field is required." in no_targets.content.decode()
    bad_number = admin.post("/escalation/policies/new/", builder_data(
        {"delay_minutes": "soon", "targets": [f"person:{ana.pk}"]}))
    assert bad_number.status_code == 400 and "Enter a whole number." in bad_number.content.decode()
    unknown = admin.post("/escalation/policies/new/", builder_data(
        {"delay_minutes": "5", "targets": ["person:987654"]}))
    assert unknown.status_code == 400 and "Select a valid choice" in unknown.content.decode()
    deadline = admin.post("/escalation/policies/new/", builder_data(
        {"delay_minutes": "5", "targets": [f"person:{ana.pk}"]}, deadlines=[{"after_minutes": "30", "tier": "4"}]))
    assert deadline.status_code == 400
    body = deadline.content.decode()
    assert "there is no tier 4" in body[body.index('id="deadline-0"'):body.index('id="deadline-1"')]
    missing = {k: v for k, v in builder_data({"delay_minutes": "5", "targets": [f"person:{ana.pk}"]}).items()
               if not k.startswith("tiers-")}
    assert admin.post("/escalation/policies/new/", missing).status_code == 400
    assert saved() == before


# --- editing: a new version with its reason -----------------------------------------------------------


def test_editing_saves_version_two_with_its_reason(world):
    ana, ben = world["ana"], world["ben"]
    policy = services.create_policy("Network", {"tiers": [tier(ana, delay=5), tier(ben, delay=10)]}, actor=SYSTEM,
                                    team=world["network"])
    manager = client_for(world["manager"])
    form = manager.get(f"/escalation/policies/{policy.pk}/edit/").content.decode()
    assert f'<option value="person:{ana.pk}" selected>' in form and 'value="5"' in form

    rows = [{"delay_minutes": "7", "targets": [f"person:{ana.pk}"]},
            {"delay_minutes": "10", "targets": [f"person:{ben.pk}"], "DELETE": "on"}]
    refused = manager.post(f"/escalation/policies/{policy.pk}/edit/",
                           builder_data(*rows, team=world["network"].pk, initial=2))
    assert refused.status_code == 400 and "This field is required." in refused.content.decode()
    assert PolicyVersion.objects.filter(policy=policy).count() == 1

    response = manager.post(f"/escalation/policies/{policy.pk}/edit/",
                            builder_data(*rows, team=world["network"].pk, initial=2, reason="PIR: Ana is faster"))
    assert response.status_code == 302, response.content.decode()[:3000]
    policy.refresh_from_db()
    assert policy.current.number == 2 and policy.current.reason == "PIR: Ana is faster"
    assert [t["delay_minutes"] for t in policy.current.spec["tiers"]] == [7]  # the removed tier is gone
    assert PolicyVersion.objects.get(policy=policy, number=1).spec["tiers"][0]["delay_minutes"] == 5
    page = manager.get(f"/escalation/policies/{policy.pk}/").content.decode()
    assert "Version 2" in page and "PIR: Ana is faster" in page and "Created" in page


def test_a_deactivated_target_stays_visible_and_is_refused_on_save(world):
    ana, ben = world["ana"], world["ben"]
    policy = services.create_policy("Network", {"tiers": [tier(ana, ben)]}, actor=SYSTEM)
    directory.deactivate_person(ben, actor=SYSTEM)
    admin = client_for(world["admin"])
    form = admin.get(f"/escalation/policies/{policy.pk}/edit/").content.decode()
    assert f'<option value="person:{ben.pk}" selected>Ben (deactivated)</option>' in form
    response = admin.post(f"/escalation/policies/{policy.pk}/edit/", builder_data(
        {"delay_minutes": "10", "targets": [f"person:{ana.pk}", f"person:{ben.pk}"]}, initial=1, reason="Tidy"))
    assert response.status_code == 400
    body = response.content.decode()
    assert "Ben is deactivated." in body[body.index('id="tier-0"'):body.index('id="tier-1"')]
    assert PolicyVersion.objects.filter(policy=policy).count() == 1


def test_only_managers_of_the_policy_team_change_it(world):
    theirs = services.create_policy("Platform", {"tiers": [tier(world["ana"])]}, actor=SYSTEM,
                                    team=world["platform"])
    manager, viewer = client_for(world["manager"]), client_for(world["viewer"])
    assert viewer.get("/escalation/policies/new/").status_code == 403
    assert 'id="new-policy"' not in viewer.get("/escalation/policies/").content.decode()
    assert 'id="new-policy"' in manager.get("/escalation/policies/").content.decode()
    assert manager.get(f"/escalation/policies/{theirs.pk}/edit/").status_code == 403
    assert 'id="edit-policy"' not in manager.get(f"/escalation/policies/{theirs.pk}/").content.decode()
    data = builder_data({"delay_minutes": "5", "targets": [f"person:{world['ana'].pk}"]}, reason="x")
    assert manager.post(f"/escalation/policies/{theirs.pk}/edit/", data).status_code == 403
    # A responder must give one of their teams; a team-less policy is for those who reach every team.
    response = manager.post("/escalation/policies/new/", data)
    assert response.status_code == 400 and not EscalationPolicy.objects.filter(name="Network").exists()
    assert manager.post("/escalation/policies/new/", {**data, "team": world["platform"].pk}).status_code == 400
    assert manager.post(f"/escalation/policies/{theirs.pk}/delete/").status_code == 403
    assert EscalationPolicy.objects.get(pk=theirs.pk).current.number == 1


# --- the policy page: services and deletion -------------------------------------------------------------


def test_linking_and_unlinking_a_service_on_the_policy_page(world):
    policy = services.create_policy("Payments", {"tiers": [tier(world["ana"])]}, actor=SYSTEM)
    admin = client_for(world["admin"])
    service = world["service"]
    bad = admin.post(f"/escalation/policies/{policy.pk}/services/", {"service": service.pk,
                                                                     "ack_timeout_minutes": "0"})
    assert bad.status_code == 400 and not ServicePolicy.objects.exists()
    response = admin.post(f"/escalation/policies/{policy.pk}/services/", {"service": service.pk,
                                                                          "ack_timeout_minutes": "120"})
    assert response.status_code == 302
    assert ServicePolicy.objects.get(service=service).ack_timeout_minutes == 120
    page = admin.get(f"/escalation/policies/{policy.pk}/").content.decode()
    assert f'data-service="{service.pk}"' in page and "ack timeout 120 min" in page
    listed = admin.get("/escalation/policies/").content.decode()
    assert "Payments</a>" in listed

    refused = admin.post(f"/escalation/policies/{policy.pk}/delete/")
    assert refused.status_code == 400 and "Services still page through this policy" in refused.content.decode()
    # Managers of another team may not link or unlink the Platform team's service.
    manager = client_for(world["manager"])
    assert manager.post(f"/escalation/policies/{policy.pk}/services/{service.pk}/unlink/").status_code == 403
    assert admin.post(f"/escalation/policies/{policy.pk}/services/{service.pk}/unlink/").status_code == 302
    assert not ServicePolicy.objects.exists()
    assert admin.post(f"/escalation/policies/{policy.pk}/delete/").status_code == 302
    assert not EscalationPolicy.objects.exists()


def test_the_policy_list_runs_a_fixed_number_of_queries(world, make_team):
    viewer = client_for(world["viewer"])

    def make(n):
        for i in range(n):
            team = make_team(f"Team {n}-{i}")
            created = services.create_policy(f"P {n}-{i}", {"tiers": [tier(world["ana"])] * 2}, actor=SYSTEM,
                                             team=team)
            for j in range(2):
                service = catalog.create_service(actor=SYSTEM, source="cli", name=f"S {n}-{i}-{j}",
                                                 kind="technical", owner_team=team, tier=3)
                services.link_service(service, created, actor=SYSTEM)

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = viewer.get("/escalation/policies/")
        assert response.status_code == 200
        return len(queries), response.content.decode().count('class="tiers-count">2<')

    make(2)
    count()
    few = count()
    make(6)
    many = count()
    assert (few[1], many[1]) == (2, 8)
    assert many[0] == few[0]


# --- the incident page's panel ------------------------------------------------------------------------


def _panel_for(incident):
    request = RequestFactory().get(f"/incidents/{incident.number}/")
    found = [(template, context) for template, context in panels.rendered_for(incident, request)
             if template == panel.TEMPLATE]
    assert len(found) == 1
    return found[0][1]


def test_the_incident_panel_shows_where_escalation_stands(world, policy, clock, trigger):
    ana, ben = world["ana"], world["ben"]
    linked = policy(tier(ana, delay=30), {**tier(ben, delay=10), "path": "managerial"}, follow_up_minutes=15)
    incident = trigger()
    clock.at(T0)
    clock.at(T0 + timedelta(minutes=15))
    html = render_to_string(panel.TEMPLATE, _panel_for(incident))
    assert 'id="escalation-state" data-state="running"' in html and "Escalating" in html
    assert linked.name in html and "version 1" in html
    assert "Tier 1 of 2" in html and "technical" in html and "follow-up 1" in html
    assert 'data-due="2026-03-02T09:30:00+00:00"' in html and "2026-03-02 09:30:00 UTC" in html
    assert "Tier 2" in html  # what comes next
    table = html[html.index('id="notification-requests"'):]
    assert table.count("<tr data-request=") == 2 and "Tier page" in table and "Follow-up" in table
    assert 'id="escalation-unpaged"' not in html

    # The incident page includes each panel with its context; a `panel` variable works as well.
    included = Template('{% include template with panel=context %}').render(
        Context({"template": panel.TEMPLATE, "context": _panel_for(incident)}))
    assert 'id="escalation-state" data-state="running"' in included

    incidents.acknowledge(incident, actor=SYSTEM, via="web", at=T0 + timedelta(minutes=16))
    html = render_to_string(panel.TEMPLATE, _panel_for(incident))
    assert 'data-state="paused"' in html and "Acknowledged" in html and "data-due" not in html
    assert html.count('data-state="cancelled"') == 2


def test_the_incident_panel_warns_when_the_incident_is_unpaged(world, clock, trigger, person, make_user):
    person("Root", user=make_user("rooted", roles=["admin"]))
    incident = trigger()  # the service has no policy: the final fallback is paged at once
    clock.at(T0)
    incident.refresh_from_db()
    html = render_to_string(panel.TEMPLATE, _panel_for(incident))
    assert 'id="escalation-unpaged"' in html and "The final fallback was paged: Root." in html
    assert "Fallback paged" in html and "No policy is linked" in html and "Final fallback" in html
