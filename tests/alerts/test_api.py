"""Integrations and alerts over the JSON API: a key is shown once (and works at once), lists show
only a prefix, changes need `catalog:manage` on the owner team and are audited without the key,
bad options are refused by name with nothing saved, and alerts are filtered without N+1 queries,
security alerts only for those who may see them."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tocsin.alerts.models import Alert, Heartbeat, Integration, key_digest
from tocsin.core.models import AuditEntry
from tocsin.incidents import services as incidents

from .conftest import SYSTEM

API = "/api/v1"
JSON = "application/json"


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.BASE_URL = "https://tocsin.example.org"


@pytest.fixture
def admin(make_user, bearer):
    return bearer(make_user("boss", roles=["admin"]))


@pytest.fixture
def owner(make_user, bearer, service):
    return bearer(make_user("pat", roles=["responder"], teams=[service.owner_team.slug]))


@pytest.fixture
def outsider(make_user, bearer, make_team):
    make_team("Network")
    return bearer(make_user("nina", roles=["responder"], teams=["network"]))


@pytest.fixture
def viewer(make_user, bearer):
    return bearer(make_user("vic", roles=["viewer"]))


def create(client, service_id, **body):
    return client.post(f"{API}/services/{service_id}/integrations", {"kind": "events-v2", **body}, content_type=JSON)


def state():
    """What a refused change must leave untouched."""
    return (list(Integration.objects.values_list("id", "name", "kind", "options", "enabled", "key_hash")
                 .order_by("id")), AuditEntry.objects.filter(action__startswith="alerts.").count())


# --- integrations ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, expected", [
    ("events-v2", {"events": "https://tocsin.example.org/v2/enqueue",
                   "batch": "https://tocsin.example.org/integrations/{key}/batch"}),
    ("alertmanager", {"alertmanager": "https://tocsin.example.org/integrations/{key}/alertmanager"}),
    ("grafana", {"grafana": "https://tocsin.example.org/integrations/{key}/grafana"}),
    ("webhook", {"webhook": "https://tocsin.example.org/integrations/{key}/webhook"}),
    ("heartbeat", {"heartbeat": "https://tocsin.example.org/integrations/{key}/heartbeat"}),
    ("email", {"email": "{key}@tocsin.example.org"}),
])
def test_creating_shows_the_key_once_with_where_to_send(owner, service, kind, expected):
    response = create(owner, service.pk, kind=kind, name="Prometheus")
    assert response.status_code == 201, response.content
    body = response.json()
    key = body["key"]
    assert len(key) == 32 and int(key, 16) >= 0
    assert body["endpoints"] == {name: url.format(key=key) for name, url in expected.items()}
    assert (body["kind"], body["name"], body["service"]["id"], body["key_prefix"]) == (
        kind, "Prometheus", service.pk, key[:4] + "…")
    integration = Integration.objects.get(pk=body["id"])
    assert integration.key_hash == key_digest(key) and integration.key == key
    assert Heartbeat.objects.filter(integration=integration).exists() == (kind == "heartbeat")
    # Never again: neither the list nor the integration itself shows the key.
    for path in (f"/services/{service.pk}/integrations", f"/integrations/{integration.pk}"):
        again = owner.get(f"{API}{path}")
        assert again.status_code == 200 and key not in again.content.decode()


def test_the_mail_domain_can_differ_from_the_web_host(owner, service, settings):
    settings.TOCSIN_INBOUND_MAIL_DOMAIN = "alerts.example.net"
    body = create(owner, service.pk, kind="email").json()
    assert body["endpoints"] == {"email": f"{body['key']}@alerts.example.net"}


def test_a_heartbeat_takes_its_interval_and_grace_from_options(owner, service):
    body = create(owner, service.pk, kind="heartbeat", options={"interval_seconds": 600, "grace_seconds": 30}).json()
    heartbeat = Heartbeat.objects.get(integration_id=body["id"])
    assert (heartbeat.interval_seconds, heartbeat.grace_seconds) == (600, 30)
    owner.patch(f"{API}/integrations/{body['id']}", {"options": {"interval_seconds": 120}}, content_type=JSON)
    heartbeat.refresh_from_db()
    assert heartbeat.interval_seconds == 120


def test_the_list_is_paginated_and_shows_only_prefixes(owner, viewer, service, integration):
    keys = [integration(name=f"n{i}")[1] for i in range(3)]
    response = viewer.get(f"{API}/services/{service.pk}/integrations?limit=2")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and [i["name"] for i in body["items"]] == ["n0", "n1"]
    assert [i["key_prefix"] for i in body["items"]] == [k[:4] + "…" for k in keys[:2]]
    assert not any(key in response.content.decode() for key in keys)


def test_managing_needs_catalog_manage_on_the_owner_team(outsider, viewer, service, integration):
    made, _ = integration()
    before = state()
    for client in (outsider, viewer):
        assert create(client, service.pk).status_code == 403
        assert client.patch(f"{API}/integrations/{made.pk}", {"name": "x"}, content_type=JSON).status_code == 403
        assert client.post(f"{API}/integrations/{made.pk}/rotate-key").status_code == 403
        assert client.delete(f"{API}/integrations/{made.pk}").status_code == 403
        # Reading is open to catalogue readers.
        assert client.get(f"{API}/integrations/{made.pk}").status_code == 200
    assert state() == before
    assert AuditEntry.objects.filter(action="permission.denied").count() == 8


def test_an_integration_without_a_service_needs_reach_over_every_team(owner, admin, integration):
    made, _ = integration(on=None)
    assert owner.patch(f"{API}/integrations/{made.pk}", {"name": "Org-wide"}, content_type=JSON).status_code == 403
    response = admin.patch(f"{API}/integrations/{made.pk}", {"name": "Org-wide"}, content_type=JSON)
    assert response.status_code == 200 and response.json()["service"] is None


def test_updates_are_audited_and_only_what_is_given_changes(owner, service, integration):
    made, key = integration(name="Old", default_severity="warning")
    response = owner.patch(f"{API}/integrations/{made.pk}", {"name": "New", "enabled": False}, content_type=JSON)
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["enabled"], response.json()["options"]) == (
        "New", False, {"default_severity": "warning"})
    entry = AuditEntry.objects.get(action="alerts.integration.update")
    assert entry.summary == {"name": {"from": "Old", "to": "New"}, "enabled": {"from": True, "to": False}}
    assert entry.actor_label.startswith("pat/")
    # Nothing changed: nothing audited.
    owner.patch(f"{API}/integrations/{made.pk}", {"name": "New"}, content_type=JSON)
    assert AuditEntry.objects.filter(action="alerts.integration.update").count() == 1
    assert key not in str(list(AuditEntry.objects.values_list("summary", flat=True)))


@pytest.mark.parametrize("body, field", [
    ({"kind": "pager"}, "kind"),
    ({"kind": "events-v2", "options": ["not", "an", "object"]}, "options"),
    ({"kind": "events-v2", "options": {"mapping": "a\x00b"}}, "options"),
    ({"kind": "events-v2", "name": "x" * 121}, "name"),
    ({"kind": "heartbeat", "options": {"interval_seconds": 5}}, "options.interval_seconds"),
    ({"kind": "events-v2", "options": {"colour": "red"}}, "options.colour"),
    ({"kind": "events-v2", "options": {"rate_limit_per_minute": float("inf")}}, "options"),
])
def test_bad_input_is_refused_by_name_and_saves_nothing(owner, service, body, field):
    before = state()
    response = owner.post(f"{API}/services/{service.pk}/integrations", body, content_type=JSON)
    assert response.status_code in (400, 422), response.content
    assert field in response.content.decode()
    assert state() == before


def test_deeply_nested_options_are_refused(owner, service):
    nested = {}
    for _ in range(40):
        nested = {"n": nested}
    response = create(owner, service.pk, options=nested)
    assert response.status_code == 400 and response.json()["errors"].keys() == {"options"}


def test_unknown_services_and_integrations_are_404(owner):
    assert create(owner, 999_999).status_code == 404
    assert owner.get(f"{API}/integrations/999999").status_code == 404
    assert owner.post(f"{API}/integrations/999999/rotate-key").status_code == 404


def test_rotating_replaces_the_key_and_shows_it_once(owner, integration):
    made, old = integration()
    response = owner.post(f"{API}/integrations/{made.pk}/rotate-key")
    assert response.status_code == 200
    new = response.json()["key"]
    assert new != old and response.json()["endpoints"]["batch"].endswith(f"/integrations/{new}/batch")
    made.refresh_from_db()
    assert made.key_hash == key_digest(new) and not Integration.objects.filter(key_hash=key_digest(old)).exists()
    entry = AuditEntry.objects.get(action="alerts.integration.rotate_key")
    assert new not in str(entry.summary) and old not in str(entry.summary)


def test_deleting_keeps_the_alerts(owner, integration, service):
    made, _ = integration()
    alert = make_alert(service, integration=made)
    assert owner.delete(f"{API}/integrations/{made.pk}").status_code == 204
    alert.refresh_from_db()
    assert not Integration.objects.exists() and alert.integration is None
    assert AuditEntry.objects.filter(action="alerts.integration.delete", object_id=str(made.pk)).exists()


def test_a_new_key_works_on_the_fast_path_at_once_and_a_rotated_one_stops(ingest, make_user, bearer, service):
    client = bearer(make_user("root", roles=["admin"]))
    created = create(client, service.pk).json()
    event = {"event_action": "trigger", "payload": {"summary": "s", "source": "h", "severity": "info"}}
    assert ingest.post("/v2/enqueue", json={**event, "routing_key": created["key"]}).status_code == 202
    rotated = client.post(f"{API}/integrations/{created['id']}/rotate-key").json()["key"]
    refused = ingest.post("/v2/enqueue", json={**event, "routing_key": created["key"]})
    assert refused.status_code == 400 and refused.json()["errors"] == ["Invalid routing key"]
    assert ingest.post("/v2/enqueue", json={**event, "routing_key": rotated}).status_code == 202
    client.patch(f"{API}/integrations/{created['id']}", {"enabled": False}, content_type=JSON)
    assert ingest.post("/v2/enqueue", json={**event, "routing_key": rotated}).status_code == 400


# --- alerts ------------------------------------------------------------------------------------

T0 = timezone.now().replace(microsecond=0) - timedelta(days=1)


def make_alert(service, *, minutes=0, **fields):
    at = T0 + timedelta(minutes=minutes)
    return Alert.objects.create(service=service, dedup_key=fields.pop("dedup_key", f"k{Alert.objects.count()}"),
                                summary=fields.pop("summary", "Disk full"), first_seen=at, last_seen=at, **fields)


@pytest.fixture
def landscape(make_service, integration):
    """Alerts on two services, of every status and handling that the filters pick from."""
    payments, search = make_service("Billing", "Billing team"), make_service("Search", "Search team")
    made, _ = integration(on=payments)
    incident = incidents.trigger_incident(payments, "Billing down", actor=SYSTEM)
    alerts = {
        "paged": make_alert(payments, integration=made, incident=incident, handling=Alert.PAGED, severity="critical",
                            source="db-1", summary="Database down", minutes=0),
        "suppressed": make_alert(payments, integration=made, handling=Alert.SUPPRESSED, severity="warning",
                                 reason="Maintenance window 'Patch Tuesday'", minutes=10),
        "resolved": make_alert(search, status=Alert.RESOLVED, handling=Alert.PAGED, minutes=20, dedup_key="search-1"),
        "security": make_alert(payments, security=True, summary="Brute force on login", minutes=30),
    }
    return payments, search, incident, alerts


def ids(response):
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def test_alerts_are_listed_newest_first_with_their_reason(admin, landscape):
    _, _, incident, alerts = landscape
    body = admin.get(f"{API}/alerts").json()
    assert [item["id"] for item in body["items"]] == [alerts[n].pk for n in ("security", "resolved", "suppressed", "paged")]
    suppressed = next(item for item in body["items"] if item["id"] == alerts["suppressed"].pk)
    assert (suppressed["handling"], suppressed["reason"]) == ("suppressed", "Maintenance window 'Patch Tuesday'")
    paged = body["items"][-1]
    assert paged["incident"] == {"id": incident.pk, "number": incident.number, "title": "Billing down",
                                 "status": incident.status}
    assert paged["integration"]["kind"] == "events-v2" and paged["service"]["name"] == "Billing"


def test_each_filter_narrows_the_list(admin, landscape):
    payments, search, incident, alerts = landscape
    cases = {
        f"service={search.pk}": ["resolved"],
        "status=resolved": ["resolved"],
        "status=open": ["security", "suppressed", "paged"],
        "handling=suppressed": ["suppressed"],
        "severity=critical": ["paged"],
        f"incident={incident.pk}": ["paged"],
        "q=DB-1": ["paged"],
        "q=search-": ["resolved"],
        f"since={(T0 + timedelta(minutes=15)).isoformat()}".replace("+", "%2B"): ["security", "resolved"],
        f"until={(T0 + timedelta(minutes=15)).isoformat()}".replace("+", "%2B"): ["suppressed", "paged"],
        f"service={payments.pk}&handling=suppressed&severity=warning": ["suppressed"],
    }
    for query, expected in cases.items():
        assert ids(admin.get(f"{API}/alerts?{query}")) == [alerts[n].pk for n in expected], query


def test_bad_filters_are_refused(admin, landscape):
    for query in ("status=sleeping", "severity=fatal", "handling=lost", "service=0", "since=yesterday", "q=" + "x" * 201):
        assert admin.get(f"{API}/alerts?{query}").status_code == 422, query


def test_security_alerts_are_shown_only_to_admins_and_security_officers(admin, viewer, make_user, bearer, landscape):
    _, _, _, alerts = landscape
    officer = bearer(make_user("sue", roles=["security_officer"]))
    secret = alerts["security"].pk
    assert secret in ids(admin.get(f"{API}/alerts")) and secret in ids(officer.get(f"{API}/alerts"))
    assert secret not in ids(viewer.get(f"{API}/alerts")) and len(ids(viewer.get(f"{API}/alerts"))) == 3
    assert officer.get(f"{API}/alerts/{secret}").status_code == 200
    assert viewer.get(f"{API}/alerts/{secret}").status_code == 404


def test_an_alert_shows_its_details_and_raw_payload(viewer, service):
    alert = make_alert(service, details={"disk": "/var"}, raw={"routing_key": "…", "payload": {}},
                       links=[{"href": "https://runbook.example/disk", "text": "Runbook"}])
    body = viewer.get(f"{API}/alerts/{alert.pk}").json()
    assert (body["details"], body["raw"], body["links"][0]["text"]) == (
        {"disk": "/var"}, {"routing_key": "…", "payload": {}}, "Runbook")
    assert viewer.get(f"{API}/alerts/999999").status_code == 404


def test_the_alerts_list_costs_the_same_queries_for_one_row_or_many(admin, make_service, integration):
    services = [make_service(f"S{i}", f"Team {i}") for i in range(3)]
    for index, on in enumerate(services):
        made, _ = integration(on=on)
        incident = incidents.trigger_incident(on, f"Down {index}", actor=SYSTEM)
        make_alert(on, integration=made, incident=incident, minutes=index)

    def cost():
        with CaptureQueriesContext(connection) as queries:
            assert admin.get(f"{API}/alerts").status_code == 200
        return len(queries)

    cost()  # the token's first use is recorded once
    few = cost()
    for index, on in enumerate(services * 5):
        make_alert(on, integration=Integration.objects.filter(service=on).first(), minutes=10 + index,
                   incident=on.incidents.first())
    assert cost() == few
    # And the list of integrations likewise.
    admin.get(f"{API}/services/{services[0].pk}/integrations")
    with CaptureQueriesContext(connection) as queries:
        admin.get(f"{API}/services/{services[0].pk}/integrations")
    one = len(queries)
    for index in range(5):
        integration(on=services[0], name=f"more {index}")
    with CaptureQueriesContext(connection) as queries:
        admin.get(f"{API}/services/{services[0].pk}/integrations")
    assert len(queries) == one
