"""The catalogue over the JSON API: precise 400s, nothing partial saved, team-scoped writes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tocsin.catalog.models import Dependency, LegacyException, Service
from tocsin.core.models import AuditEntry
from tocsin.directory.models import Region, Site

JSON = "application/json"


@pytest.fixture
def admin(make_user, bearer, teams):
    return bearer(make_user("root", roles=["admin"]))


def _create(client, name, team="platform", **fields):
    return client.post("/api/v1/services", {"name": name, "owner_team": team, **fields}, content_type=JSON)


def test_create_read_update_delete_a_service(admin, teams, django_assert_max_num_queries):
    site = Site.objects.create(name="Austin DC", slug="austin-dc")
    created = _create(admin, "postgres-main", tier=1, sites=["austin-dc"], description="Primary cluster")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["tier"], body["owner_team"], body["sites"], body["warnings"]) == (1, "platform", ["austin-dc"], [])
    entry = AuditEntry.objects.get(action="catalog.service.create")
    assert entry.object_id == str(body["id"]) and entry.summary["tier"] == 1
    patched = admin.patch(f"/api/v1/services/{body['id']}", {"tier": 2, "owner_team": "network"}, content_type=JSON)
    assert patched.status_code == 200 and patched.json()["owner_team"] == "network"
    for n in range(35):
        _create(admin, f"svc-{n:02d}")
    with django_assert_max_num_queries(8):
        listing = admin.get("/api/v1/services?limit=100").json()
    assert listing["count"] == 36 and listing["items"][0]["name"] == "postgres-main"
    assert admin.delete(f"/api/v1/services/{body['id']}").status_code == 204
    assert admin.get(f"/api/v1/services/{body['id']}").status_code == 404
    assert site.services.count() == 0


@pytest.mark.parametrize("fields, field", [
    ({"tier": 0}, "tier"), ({"tier": 7}, "tier"), ({"kind": "mystery"}, "kind"), ({"name": "  "}, "name"),
])
def test_bad_service_input_is_a_400_naming_the_field(admin, fields, field):
    response = _create(admin, **{"name": "x", **fields})
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Service.objects.exists()


def test_unknown_references_are_refused(admin):
    assert "Unknown team 'nope'" in _create(admin, "x", team="nope").json()["detail"]
    assert "Unknown site" in _create(admin, "x", sites=["mars"]).json()["detail"]
    assert "Unknown person" in _create(admin, "x", owner_id=999).json()["detail"]
    assert admin.get("/api/v1/services/999").status_code == 404
    assert _create(admin, "x").status_code == 201
    assert _create(admin, "X").json()["detail"] == "name: A service named 'X' exists already."


def test_rto_beyond_mtpd_is_a_400_on_rto_and_nothing_is_saved(admin):
    service_id = _create(admin, "payments").json()["id"]
    url = f"/api/v1/services/{service_id}/bia"
    good = admin.put(url, {"rto": "1h", "mtpd": "4h", "rpo": 5, "data_sensitivity": "regulated-financial"}, content_type=JSON)
    assert good.status_code == 200 and (good.json()["rto"], good.json()["rpo"]) == ("1h", "5m")
    bad = admin.put(url, {"rto": "8h", "mtpd": "4h", "rpo": "1h", "data_sensitivity": "public"}, content_type=JSON)
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["rto"] and bad.json()["detail"].startswith("rto: The RTO (8h) exceeds the MTPD (4h)")
    stored = admin.get(url).json()
    assert (stored["rto_minutes"], stored["rpo_minutes"], stored["data_sensitivity"]) == (60, 5, "regulated-financial")
    assert admin.put(url, {"rto": "soon"}, content_type=JSON).json()["errors"].keys() == {"rto"}
    assert admin.put(url, {"impact": {"financial": {"1h": 9}}}, content_type=JSON).status_code == 400


def test_cycles_are_a_400_naming_the_cycle(admin):
    ids = {name: _create(admin, name).json()["id"] for name in ("billing", "payments", "db")}

    def link(a, b):
        return admin.post(f"/api/v1/services/{ids[a]}/dependencies", {"depends_on": ids[b]}, content_type=JSON)

    assert link("billing", "payments").status_code == 201
    assert link("payments", "db").json()["depends_on"] == [{"id": ids["db"], "name": "db", "kind": "technical", "tier": 3}]
    refused = link("db", "billing")
    assert refused.status_code == 400
    assert refused.json()["detail"] == "depends_on: Dependency would create a cycle: db → billing → payments → db"
    assert Dependency.objects.count() == 2
    missing = admin.post(f"/api/v1/services/{ids['db']}/dependencies", {"depends_on": 999}, content_type=JSON)
    assert missing.status_code == 404
    assert admin.delete(f"/api/v1/services/{ids['billing']}/dependencies/{ids['payments']}").status_code == 204
    assert admin.delete(f"/api/v1/services/{ids['billing']}/dependencies/{ids['payments']}").status_code == 404


def test_business_services_show_what_supports_them_and_warnings(admin):
    shop = _create(admin, "Online Shop", kind="business", tier=1).json()["id"]
    api = _create(admin, "checkout-api", tier=2).json()["id"]
    body = admin.post(f"/api/v1/services/{shop}/dependencies", {"depends_on": api}, content_type=JSON).json()
    assert [s["name"] for s in body["supported_by"]] == ["checkout-api"]
    assert body["warnings"][0].startswith("checkout-api (tier 2) supports the business service Online Shop (tier 1)")
    api_body = admin.get(f"/api/v1/services/{api}").json()
    assert [s["name"] for s in api_body["needed_by"]] == ["Online Shop"] and len(api_body["warnings"]) == 1
    assert admin.get(f"/api/v1/services/{api}/bia").json()["warnings"] == api_body["warnings"]


def test_viewers_read_and_responders_write_only_their_teams(make_user, bearer, admin, teams):
    network_id = _create(admin, "dns", team="network").json()["id"]
    platform_id = _create(admin, "k8s", team="platform").json()["id"]
    viewer = bearer(make_user("vera", roles=["viewer"]))
    assert viewer.get("/api/v1/services").json()["count"] == 2
    assert _create(viewer, "x", team="network").status_code == 403
    assert viewer.patch(f"/api/v1/services/{network_id}", {"tier": 1}, content_type=JSON).status_code == 403
    responder = bearer(make_user("nina", roles=["responder"], teams=["network"]))
    assert _create(responder, "firewall", team="network").status_code == 201
    assert _create(responder, "storage", team="platform").status_code == 403
    assert responder.patch(f"/api/v1/services/{network_id}", {"tier": 1}, content_type=JSON).status_code == 200
    assert responder.patch(f"/api/v1/services/{platform_id}", {"tier": 1}, content_type=JSON).status_code == 403
    moved = responder.patch(f"/api/v1/services/{network_id}", {"owner_team": "platform"}, content_type=JSON)
    assert moved.status_code == 403  # not onto a team out of reach
    assert responder.put(f"/api/v1/services/{platform_id}/bia", {"rto": "1h"}, content_type=JSON).status_code == 403
    assert responder.post("/api/v1/regions", {"name": "EMEA"}, content_type=JSON).status_code == 403
    assert AuditEntry.objects.filter(action="permission.denied").count() >= 5


def test_sites_and_regions(admin, bearer, make_user):
    region = admin.post("/api/v1/regions", {"name": "EMEA", "description": "Europe"}, content_type=JSON)
    assert region.status_code == 201 and region.json()["slug"] == "emea"
    payload = {"name": "Berlin HQ", "region": "emea", "kind": "office", "latitude": 52.52, "longitude": 13.405,
               "time_zone": "Europe/Berlin", "address": "Alexanderplatz 1"}
    site = admin.post("/api/v1/sites", payload, content_type=JSON)
    assert site.status_code == 201, site.content
    assert (site.json()["region"], site.json()["latitude"]) == ("emea", 52.52)
    mars = admin.post("/api/v1/sites", {**payload, "name": "Base", "time_zone": "Mars/Base"}, content_type=JSON)
    assert mars.status_code == 400 and mars.json()["detail"].startswith("time_zone: Unknown time zone 'Mars/Base'")
    north = admin.post("/api/v1/sites", {**payload, "name": "Pole", "latitude": 91}, content_type=JSON)
    assert north.status_code == 400 and "latitude" in north.json()["errors"]
    east = admin.patch(f"/api/v1/sites/{site.json()['id']}", {"longitude": -181}, content_type=JSON)
    assert east.status_code == 400 and "longitude" in east.json()["errors"]
    assert admin.patch(f"/api/v1/sites/{site.json()['id']}", {"region": None}, content_type=JSON).json()["region"] is None
    assert Site.objects.count() == 1 and Region.objects.count() == 1
    viewer = bearer(make_user("vera", roles=["viewer"]))
    assert viewer.get("/api/v1/sites").json()["count"] == 1
    assert viewer.post("/api/v1/sites", {**payload, "name": "Other"}, content_type=JSON).status_code == 403


def test_legacy_exceptions_over_the_api(admin, make_user, bearer):
    service_id = _create(admin, "telephony", team="network").json()["id"]
    payload = {"service_id": service_id, "summary": "Vendor answers within 4 h only", "reason": "No 24/7 contract",
               "review_on": (timezone.localdate() + timedelta(days=60)).isoformat(), "ack_minutes": "4h"}
    created = admin.post("/api/v1/legacy-exceptions", payload, content_type=JSON)
    assert created.status_code == 201 and created.json()["status"] == "pending"
    exception_id = created.json()["id"]
    own = admin.post(f"/api/v1/legacy-exceptions/{exception_id}/approve")
    assert own.status_code == 400 and "Four eyes" in own.json()["detail"]
    responder = bearer(make_user("nina", roles=["responder"], teams=["network"]))
    assert responder.post(f"/api/v1/legacy-exceptions/{exception_id}/approve").status_code == 403
    second = bearer(make_user("root2", roles=["admin"]))
    approved = second.post(f"/api/v1/legacy-exceptions/{exception_id}/approve")
    assert approved.status_code == 200 and approved.json()["approved_by"] == "root2"
    LegacyException.objects.update(review_on="2000-01-01")
    overdue = admin.get("/api/v1/legacy-exceptions?overdue=true").json()
    assert overdue["count"] == 1 and overdue["items"][0]["review_overdue"] is True
    past = admin.post("/api/v1/legacy-exceptions", {**payload, "review_on": "2000-01-01"}, content_type=JSON)
    assert past.status_code == 400 and "review_on" in past.json()["errors"]


def test_recovery_order_and_critical_personnel(admin):
    ids = {name: _create(admin, name, tier=1).json()["id"] for name in ("A", "B", "C", "D")}
    for a, b in [("A", "B"), ("A", "C"), ("B", "D"), ("C", "D")]:
        admin.post(f"/api/v1/services/{ids[a]}/dependencies", {"depends_on": ids[b]}, content_type=JSON)
    for name, rto in [("A", "4h"), ("B", "2h"), ("C", "1h"), ("D", "8h")]:
        admin.put(f"/api/v1/services/{ids[name]}/bia", {"rto": rto}, content_type=JSON)
    down = ",".join(str(pk) for pk in ids.values())
    steps = admin.get(f"/api/v1/recovery-order?down={down}").json()
    assert [s["service"]["name"] for s in steps] == ["D", "C", "B", "A"]
    assert [w["name"] for w in steps[3]["waits_for"]] == ["B", "C"]
    assert admin.get(f"/api/v1/recovery-order?down={down},999").status_code == 404
    assert admin.get("/api/v1/recovery-order?down=a,b").status_code == 422
    people = admin.get("/api/v1/critical-personnel?rto_minutes=60").json()
    # C has an RTO of 1h; D is needed by it and must come back as fast.
    assert [(s["service"]["name"], s["why"], s["coverage_gap"]) for s in people["services"]] == [
        ("C", "RTO 1h", True), ("D", "needed by C", True),
    ]
