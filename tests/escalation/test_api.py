"""Escalation over the JSON API: policies and their versions (incidents keep theirs), team-scoped
changes, every bad document refused with a 400 naming the field and nothing left behind, service
links, and where an incident's escalation stands."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tocsin.core.models import AuditEntry
from tocsin.directory import services as directory
from tocsin.escalation import services
from tocsin.escalation.models import Escalation, EscalationPolicy, PolicyVersion, ServicePolicy
from tocsin.incidents import services as incidents
from tocsin.oncall import services as oncall

from .conftest import SYSTEM, T0, tier

API = "/api/v1"
JSON = "application/json"


def post(client, path, body):
    return client.post(f"{API}{path}", body, content_type=JSON)


def patch(client, path, body):
    return client.patch(f"{API}{path}", body, content_type=JSON)


def put(client, path, body):
    return client.put(f"{API}{path}", body, content_type=JSON)


@pytest.fixture
def network(make_team):
    return make_team("Network")


@pytest.fixture
def admin(make_user, bearer, network):
    return bearer(make_user("boss", roles=["admin"]))


@pytest.fixture
def network_responder(make_user, bearer, network):
    return bearer(make_user("nina", roles=["responder"], teams=["network"]))


@pytest.fixture
def viewer(make_user, bearer, network):
    return bearer(make_user("vic", roles=["viewer"]))


def rows():
    """What a failed save must leave untouched."""
    return (EscalationPolicy.objects.count(), PolicyVersion.objects.count(), AuditEntry.objects.count(),
            list(EscalationPolicy.objects.values_list("name", "current_id").order_by("pk")))


# --- CRUD and versions ----------------------------------------------------------------------


def test_policy_crud_keeps_every_version_with_its_reason(admin, person, network):
    ana, ben = person("Ana"), person("Ben")
    role = directory.create_role(actor=SYSTEM, name="IT Manager")
    schedule = oncall.create_schedule(actor=SYSTEM, name="Network primary")
    document = {"tiers": [tier(ana, delay=5), {"delay_minutes": 15, "path": "managerial",
                                                "targets": [{"type": "role", "id": role.pk},
                                                            {"type": "schedule", "id": schedule.pk}],
                                                "backup": [{"type": "person", "id": ben.pk}]}],
                "repeat": 1, "deadlines": [{"after_minutes": 30, "tier": 1}]}
    created = post(admin, "/escalation-policies", {"name": "Network", "description": "Core network",
                                                   "team": network.pk, "spec": document})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["version"] == 1 and body["team"]["slug"] == "network" and body["services"] == []
    assert body["spec"]["tiers"][1]["targets"] == [{"type": "role", "id": role.pk},
                                                   {"type": "schedule", "id": schedule.pk}]
    assert body["spec"]["follow_up_minutes"] == 15  # the default, as stored
    pid = body["id"]

    renamed = patch(admin, f"/escalation-policies/{pid}", {"name": "Network core"})
    assert renamed.status_code == 200 and renamed.json()["version"] == 1, renamed.content

    document["tiers"][0]["delay_minutes"] = 10
    revised = patch(admin, f"/escalation-policies/{pid}", {"spec": document, "reason": "PIR #12: too slow"})
    assert revised.status_code == 200, revised.content
    assert revised.json()["version"] == 2 and revised.json()["spec"]["tiers"][0]["delay_minutes"] == 10

    versions = admin.get(f"{API}/escalation-policies/{pid}/versions").json()["items"]
    assert [(v["number"], v["reason"], v["created_by"]) for v in versions] == [
        (2, "PIR #12: too slow", "boss"), (1, "Created", "boss")]
    assert versions[1]["spec"]["tiers"][0]["delay_minutes"] == 5

    listed = admin.get(f"{API}/escalation-policies").json()
    assert [(p["name"], p["version"]) for p in listed["items"]] == [("Network core", 2)]
    assert admin.get(f"{API}/escalation-policies/{pid}").json()["description"] == "Core network"

    assert admin.delete(f"{API}/escalation-policies/{pid}").status_code == 204
    assert not EscalationPolicy.objects.exists() and not PolicyVersion.objects.exists()
    assert admin.get(f"{API}/escalation-policies/{pid}").status_code == 404


def test_incidents_keep_the_version_they_started_with(admin, person, service, clock):
    ana, ben = person("Ana"), person("Ben")
    created = post(admin, "/escalation-policies", {"name": "Payments", "spec": {"tiers": [tier(ana)]}}).json()
    assert put(admin, f"/services/{service.pk}/escalation", {"policy": created["id"]}).status_code == 200
    first = incidents.trigger_incident(service, "Cards failing", actor=SYSTEM, at=T0)
    clock.at(T0)

    revised = patch(admin, f"/escalation-policies/{created['id']}",
                    {"spec": {"tiers": [tier(ben)]}, "reason": "Ben owns payments now"})
    assert revised.json()["version"] == 2
    second = incidents.trigger_incident(service, "Refunds failing", actor=SYSTEM, at=T0, alert_key="refunds")
    clock.at(T0 + timedelta(seconds=1))

    assert Escalation.objects.get(incident=first).version.number == 1
    assert Escalation.objects.get(incident=second).version.number == 2
    one = admin.get(f"{API}/incidents/{first.pk}/escalation").json()
    two = admin.get(f"{API}/incidents/{second.pk}/escalation").json()
    assert (one["version"], [t["name"] for t in one["targets"]]) == (1, ["Ana"])
    assert (two["version"], [t["name"] for t in two["targets"]]) == (2, ["Ben"])
    # The old version stays, so the policy cannot be deleted from under the incident.
    problem = admin.delete(f"{API}/escalation-policies/{created['id']}")
    assert problem.status_code == 400 and "policy" in problem.json()["errors"]


def test_a_linked_policy_is_not_deleted(admin, person, service, policy):
    linked = policy(tier(person("Ana")))
    response = admin.delete(f"{API}/escalation-policies/{linked.pk}")
    assert response.status_code == 400 and "Payments" in response.json()["detail"]
    assert EscalationPolicy.objects.filter(pk=linked.pk).exists()


def test_an_unchanged_document_is_not_a_new_version(admin, person):
    document = {"tiers": [tier(person("Ana"))]}
    pid = post(admin, "/escalation-policies", {"name": "Same", "spec": document}).json()["id"]
    again = patch(admin, f"/escalation-policies/{pid}", {"spec": document, "reason": "Saved again"})
    assert again.status_code == 200 and again.json()["version"] == 1
    assert PolicyVersion.objects.count() == 1


# --- permissions ------------------------------------------------------------------------------


def test_reading_needs_oncall_read_and_changes_need_manage_on_the_team(
        viewer, network_responder, admin, person, network, service, make_user, bearer):
    ana = person("Ana")
    spec = {"tiers": [tier(ana)]}
    assert viewer.get(f"{API}/escalation-policies").status_code == 200
    assert post(viewer, "/escalation-policies", {"name": "V", "spec": spec}).status_code == 403

    mine = post(network_responder, "/escalation-policies", {"name": "Net", "team": network.pk, "spec": spec})
    assert mine.status_code == 201, mine.content
    platform = service.owner_team
    assert post(network_responder, "/escalation-policies",
                {"name": "Theirs", "team": platform.pk, "spec": spec}).status_code == 403
    # A policy without a team needs reach over every team.
    assert post(network_responder, "/escalation-policies", {"name": "Nobody's", "spec": spec}).status_code == 403

    pid = mine.json()["id"]
    assert patch(network_responder, f"/escalation-policies/{pid}", {"description": "ours"}).status_code == 200
    assert patch(network_responder, f"/escalation-policies/{pid}", {"team": platform.pk}).status_code == 403
    assert patch(network_responder, f"/escalation-policies/{pid}", {"team": None}).status_code == 403
    assert patch(viewer, f"/escalation-policies/{pid}", {"description": "x"}).status_code == 403
    assert viewer.delete(f"{API}/escalation-policies/{pid}").status_code == 403

    theirs = post(admin, "/escalation-policies", {"name": "Platform", "team": platform.pk, "spec": spec}).json()
    assert patch(network_responder, f"/escalation-policies/{theirs['id']}", {"name": "Mine"}).status_code == 403
    assert network_responder.delete(f"{API}/escalation-policies/{theirs['id']}").status_code == 403
    # Linking the Payments service (owned by Platform) needs manage on Platform.
    assert put(network_responder, f"/services/{service.pk}/escalation", {"policy": pid}).status_code == 403
    assert network_responder.delete(f"{API}/services/{service.pk}/escalation").status_code == 403
    assert put(admin, f"/services/{service.pk}/escalation", {"policy": pid}).status_code == 200
    assert EscalationPolicy.objects.get(pk=theirs["id"]).name == "Platform"
    assert AuditEntry.objects.filter(action="permission.denied").count() >= 8

    nobody = bearer(make_user("nobody"))
    assert nobody.get(f"{API}/escalation-policies").status_code == 403
    incident = incidents.trigger_incident(service, "Down", actor=SYSTEM, at=T0)
    assert nobody.get(f"{API}/incidents/{incident.pk}/escalation").status_code == 403
    assert viewer.get(f"{API}/incidents/{incident.pk}/escalation").status_code == 200


# --- bad documents: a precise 400 and nothing written --------------------------------------------


BAD_DOCUMENTS = [
    ("no tiers", lambda ana: {"tiers": []}, "tiers"),
    ("no document", lambda ana: None, "spec"),
    ("not an object", lambda ana: "tiers", "spec"),
    ("delay 0", lambda ana: {"tiers": [tier(ana, delay=0)]}, "tiers.0.delay_minutes"),
    ("delay -5", lambda ana: {"tiers": [tier(ana, delay=-5)]}, "tiers.0.delay_minutes"),
    ("delay 100000", lambda ana: {"tiers": [tier(ana), tier(ana, delay=100000)]}, "tiers.1.delay_minutes"),
    ("delay as text", lambda ana: {"tiers": [tier(ana, delay="10")]}, "tiers.0.delay_minutes"),
    ("repeat 10", lambda ana: {"tiers": [tier(ana)], "repeat": 10}, "repeat"),
    ("repeat -1", lambda ana: {"tiers": [tier(ana)], "repeat": -1}, "repeat"),
    ("follow-up -1", lambda ana: {"tiers": [tier(ana)], "follow_up_minutes": -1}, "follow_up_minutes"),
    ("tier without targets", lambda ana: {"tiers": [{"delay_minutes": 5, "targets": []}]}, "tiers.0.targets"),
    ("unknown target type", lambda ana: {"tiers": [{"delay_minutes": 5, "targets": [{"type": "team", "id": 1}]}]},
     "tiers.0.targets.0.type"),
    ("unknown person", lambda ana: {"tiers": [tier(ana), {"delay_minutes": 5,
                                                          "targets": [{"type": "person", "id": 987654}]}]},
     "tiers.1.targets.0"),
    ("unknown role", lambda ana: {"tiers": [{"delay_minutes": 5, "targets": [{"type": "role", "id": 987654}]}]},
     "tiers.0.targets.0"),
    ("unknown schedule", lambda ana: {"tiers": [tier(ana, backup=[{"type": "schedule", "id": 987654}])]},
     "tiers.0.backup.0"),
    ("unknown fallback", lambda ana: {"tiers": [tier(ana)], "fallback": [{"type": "person", "id": 987654}]},
     "fallback.0"),
    ("deadline beyond the tiers", lambda ana: {"tiers": [tier(ana)], "deadlines": [{"after_minutes": 30, "tier": 1}]},
     "deadlines.0.tier"),
    ("expertise without tags", lambda ana: {"tiers": [tier(ana, selection="expertise")]}, "tiers.0"),
    ("unknown field", lambda ana: {"tiers": [tier(ana)], "repeats": 2}, "repeats"),
    ("eleven tiers", lambda ana: {"tiers": [tier(ana)] * 11}, "tiers"),
]


@pytest.mark.parametrize("document, field", [(case[1], case[2]) for case in BAD_DOCUMENTS],
                         ids=[case[0] for case in BAD_DOCUMENTS])
def test_bad_documents_are_refused_by_field_and_leave_nothing(admin, person, document, field):
    ana = person("Ana")
    before = rows()
    response = post(admin, "/escalation-policies", {"name": "Broken", "spec": document(ana)})
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    assert rows() == before


def test_a_deactivated_target_is_refused_at_save_time(admin, person):
    ana, gone = person("Ana"), person("Gone")
    directory.deactivate_person(gone, actor=SYSTEM)
    before = rows()
    response = post(admin, "/escalation-policies", {"name": "P", "spec": {"tiers": [tier(ana, gone)]}})
    assert response.status_code == 400
    assert response.json()["errors"] == {"tiers.0.targets.1": ["Gone is deactivated."]}
    assert rows() == before


def test_a_failed_revision_changes_nothing(admin, person, network):
    ana = person("Ana")
    pid = post(admin, "/escalation-policies", {"name": "P", "spec": {"tiers": [tier(ana)]}}).json()["id"]
    post(admin, "/escalation-policies", {"name": "Taken", "spec": {"tiers": [tier(ana)]}})
    before = rows()
    cases = [
        ({"name": "Renamed", "spec": {"tiers": [tier(ana, delay=0)]}, "reason": "r"}, "tiers.0.delay_minutes"),
        ({"spec": {"tiers": [tier(ana, delay=20)]}}, "reason"),
        ({"spec": {"tiers": [tier(ana, delay=20)]}, "reason": "   "}, "reason"),
        ({"name": "taken", "spec": {"tiers": [tier(ana, delay=20)]}, "reason": "r"}, "name"),
        ({"team": 987654}, "team"),
        ({"spec": {"tiers": [tier(ana)], "repeat": 10}, "reason": "r"}, "repeat"),
    ]
    for body, field in cases:
        response = patch(admin, f"/escalation-policies/{pid}", body)
        assert response.status_code == 400, (body, response.content)
        assert field in response.json()["errors"], (body, response.json())
        assert rows() == before, body
    assert patch(admin, f"/escalation-policies/{pid}", {"name": None}).status_code == 422


def test_names_and_teams_are_checked(admin, person):
    spec = {"tiers": [tier(person("Ana"))]}
    assert post(admin, "/escalation-policies", {"name": "Net", "spec": spec}).status_code == 201
    before = rows()
    clash = post(admin, "/escalation-policies", {"name": " net ", "spec": spec})
    assert clash.status_code == 400 and "name" in clash.json()["errors"]
    unknown = post(admin, "/escalation-policies", {"name": "Other", "team": 987654, "spec": spec})
    assert unknown.status_code == 400 and "team" in unknown.json()["errors"]
    assert rows() == before


# --- services ---------------------------------------------------------------------------------------


def test_linking_a_service(admin, person, service):
    pid = post(admin, "/escalation-policies", {"name": "P", "spec": {"tiers": [tier(person("Ana"))]}}).json()["id"]
    path = f"/services/{service.pk}/escalation"
    assert admin.get(f"{API}{path}").json() == {"service": service.pk, "policy": None, "ack_timeout_minutes": None}
    linked = put(admin, path, {"policy": pid, "ack_timeout_minutes": 240})
    assert linked.status_code == 200
    assert linked.json() == {"service": service.pk, "policy": {"id": pid, "name": "P"}, "ack_timeout_minutes": 240}
    for body, field in [({"policy": pid, "ack_timeout_minutes": 0}, "ack_timeout_minutes"),
                        ({"policy": pid, "ack_timeout_minutes": 10**6}, "ack_timeout_minutes"),
                        ({"policy": 987654}, "policy")]:
        response = put(admin, path, body)
        assert response.status_code == 400 and field in response.json()["errors"], response.content
    assert ServicePolicy.objects.get(service=service).ack_timeout_minutes == 240
    listed = admin.get(f"{API}/escalation-policies/{pid}").json()
    assert listed["services"] == [{"id": service.pk, "name": "Payments", "slug": service.slug,
                                   "ack_timeout_minutes": 240}]
    assert admin.delete(f"{API}{path}").status_code == 204
    assert admin.get(f"{API}{path}").json()["policy"] is None
    assert admin.get(f"{API}/services/987654/escalation").status_code == 404
    assert put(admin, "/services/987654/escalation", {"policy": pid}).status_code == 404


# --- an incident's escalation ----------------------------------------------------------------------------


def test_where_an_incident_escalation_stands(admin, person, policy, clock, trigger):
    ana, ben = person("Ana"), person("Ben")
    linked = policy(tier(ana, delay=30), {**tier(ben, delay=10), "path": "managerial"}, follow_up_minutes=15)
    incident = trigger()
    clock.at(T0)
    body = admin.get(f"{API}/incidents/{incident.pk}/escalation").json()
    assert (body["state"], body["state_label"], body["version"]) == ("running", "Escalating", 1)
    assert body["policy"] == {"id": linked.pk, "name": linked.name}
    assert (body["tier"], body["cycle"], body["follow_up"], body["path"]) == (0, 0, 0, "technical")
    assert body["next_step"]["tier"] == 0 and body["next_step"]["follow_up"] == 1
    assert body["next_step_at"].startswith("2026-03-02T09:15")
    assert [t["name"] for t in body["targets"]] == ["Ana"]
    assert [(r["person"]["name"], r["reason"], r["tier"], r["state"]) for r in body["requests"]] == [
        ("Ana", "page", 0, "pending")]

    clock.at(T0 + timedelta(minutes=30))
    body = admin.get(f"{API}/incidents/{incident.pk}/escalation").json()
    assert (body["tier"], body["path"]) == (1, "managerial")
    assert body["next_step"]["tier"] is None and body["next_step"]["label"] == "the final fallback"
    assert [r["reason"] for r in body["requests"]] == ["page", "follow_up", "page"]

    incidents.acknowledge(incident, actor=SYSTEM, via="web", at=T0 + timedelta(minutes=31))
    body = admin.get(f"{API}/incidents/{incident.pk}/escalation").json()
    assert (body["state"], body["state_label"], body["next_step"], body["next_step_at"]) == (
        "paused", "Acknowledged", None, None)
    assert {r["state"] for r in body["requests"]} == {"cancelled"}
    assert admin.get(f"{API}/incidents/987654/escalation").status_code == 404


# --- bounded queries ---------------------------------------------------------------------------------------


def test_the_policy_list_runs_a_fixed_number_of_queries(admin, person, make_team):
    from tocsin.catalog import services as catalog

    ana = person("Ana")

    def make(n):
        for i in range(n):
            team = make_team(f"Team {n}-{i}")
            created = services.create_policy(f"P {n}-{i}", {"tiers": [tier(ana)] * 3}, actor=SYSTEM, team=team)
            for j in range(2):
                service = catalog.create_service(actor=SYSTEM, source="cli", name=f"S {n}-{i}-{j}",
                                                 kind="technical", owner_team=team, tier=3)
                services.link_service(service, created, actor=SYSTEM)

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = admin.get(f"{API}/escalation-policies?limit=100")
        assert response.status_code == 200
        return len(queries), len(response.json()["items"])

    make(2)
    count()  # the token's first use is recorded once
    few = count()
    make(6)
    many = count()
    assert few[1] == 2 and many[1] == 8
    assert many[0] == few[0] <= 12


def test_nul_characters_in_a_document_are_refused_by_field(admin, person):
    ana = person("Ana")
    before = rows()
    response = post(admin, "/escalation-policies", {"name": "P", "spec": {"tiers": [tier(ana, tags=["db\x00"])]}})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["tiers.0.tags.0"]
    assert rows() == before


def test_linking_another_teams_policy_needs_that_teams_consent(make_user, bearer, network, person, service):
    from tocsin.core.models import Team
    from tocsin.escalation import services as escalation

    from .conftest import SYSTEM

    network_policy = escalation.create_policy("Network only", {"tiers": [tier(person("Ana"))]}, actor=SYSTEM,
                                              team=network)
    platform = bearer(make_user("pia", roles=["responder"], teams=[Team.objects.get(name="Platform").slug]))
    path = f"/services/{service.pk}/escalation"
    assert put(platform, path, {"policy": network_policy.pk}).status_code == 403
    assert not ServicePolicy.objects.filter(service=service).exists()
    shared = escalation.create_policy("Shared", {"tiers": [tier(person("Ben"))]}, actor=SYSTEM)
    assert put(platform, path, {"policy": shared.pk}).status_code == 200
