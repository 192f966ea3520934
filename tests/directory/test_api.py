"""The directory over the JSON API: masked by default, audited reveals, scoped machine writes."""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tocsin.core import services as core_services
from tocsin.core.models import AuditEntry
from tocsin.directory import services
from tocsin.directory.models import Person

from .conftest import SYSTEM


@pytest.fixture
def network(make_team):
    return make_team("Network")


@pytest.fixture
def ana(make_person, network, phone):
    person = make_person("Ana Silva", teams=[network])
    phone(person, "+49 170 1234542")
    return person


def _token_client(user, scopes=()):
    _, secret = core_services.issue_token(user, actor=SYSTEM, name="t", scopes=list(scopes))
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_people_are_listed_masked_with_a_flat_query_count(make_user, make_person, network, ana, phone, django_assert_max_num_queries):
    client = _token_client(make_user(roles=["viewer"]))
    for index in range(20):
        phone(make_person(f"P{index}", teams=[network]), f"+49 170 12345{index:02d}")
    client.get("/api/v1/directory/people")
    with django_assert_max_num_queries(8):
        body = client.get("/api/v1/directory/people?limit=100").json()
    assert body["count"] == 21
    first = next(p for p in body["items"] if p["name"] == "Ana Silva")
    assert first["methods"][0]["masked_value"] == "+49 *** *** 42"
    assert "1234542" not in str(body)


def test_machine_writes_need_the_explicit_scope(make_user, network):
    steward = make_user(roles=["admin"])
    payload = {"name": "Ben Okafor", "teams": ["network"], "time_zone": "Europe/Berlin"}
    plain = _token_client(steward).post("/api/v1/directory/people", payload, content_type="application/json")
    assert plain.status_code == 403
    scoped = _token_client(steward, ["contacts:write", "contacts:read"])
    created = scoped.post("/api/v1/directory/people", payload, content_type="application/json")
    assert created.status_code == 201, created.content
    person = Person.objects.get(name="Ben Okafor")
    assert person.history.first().history_change_reason.startswith("api:token:")
    bad = scoped.post(f"/api/v1/directory/people/{person.pk}/methods", {"kind": "sms", "value": "12"}, content_type="application/json")
    assert bad.status_code == 400 and "value" in bad.json()["errors"]
    assert not person.methods.exists()


def test_session_writes_need_a_fresh_step_up(make_user, ana):
    client = Client()
    client.force_login(make_user(roles=["admin"]))
    url = f"/api/v1/directory/people/{ana.pk}/methods"
    data = {"kind": "email", "value": "ana@example.org"}
    response = client.post(url, data, content_type="application/json")
    assert response.status_code == 403 and "step-up" in response.json()["detail"]
    session = client.session
    session["tocsin_mfa_at"] = time.time()
    session.save()
    assert client.post(url, data, content_type="application/json").status_code == 201


def test_reveal_is_need_to_know_and_audited(make_user, ana, network):
    method = ana.methods.get()
    responder = _token_client(make_user("resp", roles=["responder"]))
    denied = responder.post(f"/api/v1/directory/methods/{method.pk}/reveal")
    assert denied.status_code == 403 and "grant" in denied.json()["detail"]
    steward = _token_client(make_user("stew", roles=[("contact_steward", "network")]))
    shown = steward.post(f"/api/v1/directory/methods/{method.pk}/reveal")
    assert shown.status_code == 200 and shown.json() == {"id": method.pk, "kind": "sms", "value": "+491701234542", "basis": "standing"}
    entries = AuditEntry.objects.filter(action__in=["contact.revealed", "contact.reveal_denied"]).order_by("seq")
    assert [(e.action, e.actor_label.split("/")[0]) for e in entries] == [
        ("contact.reveal_denied", "resp"), ("contact.revealed", "stew")
    ]


def test_grant_flow_over_the_api(make_user, ana):
    viewer = make_user("vic", roles=["viewer"])
    officer = make_user("sec", roles=["security_officer"])
    client = _token_client(viewer)
    grant = client.post(
        "/api/v1/directory/grants",
        {"reason": "Vendor escalation for the SAN", "duration_minutes": 60, "person_id": ana.pk},
        content_type="application/json",
    ).json()
    assert grant["status"] == "pending"
    assert client.post(f"/api/v1/directory/grants/{grant['id']}/approve").status_code == 403
    approved = _token_client(officer).post(f"/api/v1/directory/grants/{grant['id']}/approve")
    assert approved.json()["status"] == "active"
    method = ana.methods.get()
    # A grant is a person's break-glass: it opens values to their browser session, not to their tokens.
    assert client.post(f"/api/v1/directory/methods/{method.pk}/reveal").status_code == 403
    browser = Client()
    browser.force_login(viewer)
    assert browser.post(f"/api/v1/directory/methods/{method.pk}/reveal").json()["basis"] == "grant"


def test_roles_resolve_at_a_given_time(make_user, make_person, make_role):
    role = make_role("IT Manager", sheet_level=2)
    ana, ben = make_person("Ana"), make_person("Ben")
    now = timezone.now()
    services.assign_holder(role, ana, actor=SYSTEM, starts_at=now - timedelta(days=1))
    services.delegate(ana, ben, actor=SYSTEM, starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2))
    client = _token_client(make_user(roles=["viewer"]))
    later = (now + timedelta(days=1, hours=1)).isoformat()
    assert client.get("/api/v1/directory/roles").json()[0]["reaches"] == [{"id": ana.pk, "name": "Ana"}]
    assert client.get("/api/v1/directory/roles", {"at": later}).json()[0]["reaches"] == [{"id": ben.pk, "name": "Ben"}]
    assert client.get("/api/v1/directory/roles", {"at": "tomorrow"}).status_code == 400


def test_history_lists_masked_versions(make_user, ana):
    method = ana.methods.get()
    services.update_method(method, actor=SYSTEM, value="+49 170 7654321")
    client = _token_client(make_user(roles=["viewer"]))
    versions = client.get(f"/api/v1/directory/people/{ana.pk}/history").json()
    assert [v["masked_value"] for v in versions] == ["+49 *** *** 21", "+49 *** *** 42"]
    assert versions[0]["change"] == "changed" and versions[0]["source"] == "ui"


def test_compliance_report(make_user, make_person, make_role):
    role = make_role("CTO", critical=True)
    services.assign_holder(role, make_person("Cleo"), actor=SYSTEM, starts_at=timezone.now() - timedelta(days=1))
    make_role("Vacant role")
    body = _token_client(make_user(roles=["admin"])).get("/api/v1/directory/compliance").json()
    assert body["below_minimum_methods"][0]["name"] == "Cleo"
    assert body["coverage_gaps"] == ["vacant-role"]


def test_a_person_records_and_withdraws_their_own_consent(make_user, make_person):
    user = make_user("self", roles=["viewer"])
    me = make_person("Me", user=user)
    other = make_person("Other")
    client = Client()
    client.force_login(user)
    url = f"/api/v1/directory/people/{me.pk}/consents"
    assert client.post(url, {"purpose": "emergency_contact"}, content_type="application/json").status_code == 201
    assert client.post(url, {"purpose": "spam"}, content_type="application/json").status_code == 400
    assert client.get(url).json()[0]["purpose"] == "emergency_contact"
    assert client.delete(f"{url}/emergency_contact").status_code == 204
    assert client.delete(f"{url}/emergency_contact").status_code == 404
    other_url = f"/api/v1/directory/people/{other.pk}/consents"
    assert client.post(other_url, {"purpose": "emergency_contact"}, content_type="application/json").status_code == 403
