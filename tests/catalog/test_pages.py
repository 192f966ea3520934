"""The catalogue's pages: they render with bounded queries, show warnings, and refuse bad input."""

import re

import pytest

from tocsin.catalog import services
from tocsin.catalog.models import Dependency, Service
from tocsin.directory.models import Site

from .conftest import SYSTEM


@pytest.fixture
def estate(make_service, depend):
    shop = make_service("Online Shop", kind="business", tier=1, rto="2h", mtpd="8h")
    api = make_service("checkout-api", tier=1, rto="1h", mtpd="4h")
    db = make_service("postgres-main", tier=3, rto="30m", mtpd="4h")
    depend(shop, api)
    depend(api, db)
    for n in range(30):
        depend(make_service(f"svc-{n:02d}", team="network", rto="4h", mtpd="1d"), db)
    return {"shop": shop, "api": api, "db": db}


def test_the_service_list_shows_tiers_and_warnings_in_few_queries(estate, login, make_user, django_assert_max_num_queries):
    client = login(make_user("vera", roles=["viewer"]))
    with django_assert_max_num_queries(10):
        page = client.get("/catalog/services/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "33 services" in html and "checkout-api" in html and "30m" in html
    row = re.search(r'<tr id="service-%d">(.*?)</tr>' % estate["db"].pk, html, re.S).group(1)
    assert "1 warning" in row
    assert "Add a service" not in html


@pytest.mark.parametrize("path", ["/catalog/sites/", "/catalog/exceptions/", "/catalog/recovery/",
                                  "/catalog/critical-personnel/?rto=4h"])
def test_every_page_renders_for_a_viewer(estate, login, make_user, path, django_assert_max_num_queries):
    Site.objects.create(name="Austin DC", slug="austin-dc")
    client = login(make_user("vera", roles=["viewer"]))
    with django_assert_max_num_queries(12):
        assert client.get(path).status_code == 200


def test_a_service_page_shows_dependencies_and_warnings(estate, login, make_user, django_assert_max_num_queries):
    client = login(make_user("vera", roles=["viewer"]))
    with django_assert_max_num_queries(14):
        page = client.get(f"/catalog/services/{estate['db'].pk}/")
    html = page.content.decode()
    assert "postgres-main (tier 3) supports the business service Online Shop (tier 1)" in html
    assert html.count('href="/catalog/services/') >= 31  # needed by checkout-api and the thirty others
    shop = client.get(f"/catalog/services/{estate['shop'].pk}/").content.decode()
    assert "Supported by" in shop and "checkout-api" in shop
    assert "Save impact analysis" not in shop  # a viewer sees the analysis, not the form


def test_rto_beyond_mtpd_on_the_form_is_an_error_and_nothing_is_saved(estate, login, make_user):
    client = login(make_user("root", roles=["admin"]))
    service = estate["api"]
    form = {"rto": "8h", "rpo": "", "mtpd": "4h", "data_sensitivity": "internal"}
    form.update({f"impact_{c}_{h}": "0" for c in ("financial", "operational", "legal-regulatory", "reputational")
                 for h in ("1h", "4h", "24h", "72h")})
    refused = client.post(f"/catalog/services/{service.pk}/bia/", form)
    assert refused.status_code == 400
    assert "The RTO (8h) exceeds the MTPD (4h)" in refused.content.decode()
    service.refresh_from_db()
    assert service.rto_minutes == 60
    form["rto"] = "2h"
    assert client.post(f"/catalog/services/{service.pk}/bia/", form).status_code == 302
    service.refresh_from_db()
    assert service.rto_minutes == 120 and service.impact["financial"]["72h"] == 0


def test_a_cycle_on_the_form_names_it(estate, login, make_user):
    client = login(make_user("root", roles=["admin"]))
    response = client.post(f"/catalog/services/{estate['db'].pk}/dependencies/", {"depends_on": estate["api"].pk})
    assert response.status_code == 400
    assert "Dependency would create a cycle: postgres-main → checkout-api → postgres-main" in response.content.decode()
    assert not Dependency.objects.filter(service=estate["db"], depends_on=estate["api"]).exists()


def test_responders_edit_only_their_teams_services(estate, login, make_user):
    client = login(make_user("nina", roles=["responder"], teams=["network"]))
    assert client.get(f"/catalog/services/{estate['db'].pk}/edit/").status_code == 403
    created = client.post("/catalog/services/new/", {"name": "firewall", "kind": "technical", "owner_team": "network",
                                                       "tier": "1"})
    assert created.status_code == 302
    refused = client.post("/catalog/services/new/", {"name": "k8s", "kind": "technical", "owner_team": "platform",
                                                       "tier": "1"})
    assert refused.status_code == 400 and not Service.objects.filter(name="k8s").exists()
    assert client.get("/catalog/sites/new/").status_code == 403


def test_sites_pages_for_an_admin(login, make_user, teams):
    client = login(make_user("root", roles=["admin"]))
    assert client.post("/catalog/regions/new/", {"name": "EMEA"}).status_code == 302
    bad = client.post("/catalog/sites/new/", {"name": "Base", "kind": "office", "time_zone": "Mars/Base"})
    assert bad.status_code == 400 and "Unknown time zone &#x27;Mars/Base&#x27;" in bad.content.decode()
    saved = client.post("/catalog/sites/new/", {"name": "Berlin HQ", "kind": "office", "time_zone": "Europe/Berlin",
                                                 "latitude": "52.52", "longitude": "13.405"})
    assert saved.status_code == 302
    assert "Berlin HQ" in client.get("/catalog/sites/").content.decode()


def test_the_recovery_page_orders_the_chosen_services_and_draws_them(estate, login, make_user):
    client = login(make_user("vera", roles=["viewer"]))
    chosen = [estate["shop"].pk, estate["api"].pk, estate["db"].pk]
    html = client.get("/catalog/recovery/", {"down": chosen}).content.decode()
    table = re.search(r'data-testid="recovery-order">(.*?)</table>', html, re.S).group(1)
    names = re.findall(r'<a href="/catalog/services/\d+/">([^<]+)</a>', table)
    assert names == ["postgres-main", "checkout-api", "Online Shop"]
    assert html.count('class="recovery-edge"') == 2 and "<svg" in html and "style=" not in html
    assert client.get("/catalog/recovery/", {"down": ["²", "x", "9" * 30]}).status_code == 200


def test_legacy_exception_pages_keep_four_eyes(estate, login, make_user):
    requester = make_user("nina", roles=["responder"], teams=["network"])
    client = login(requester)
    service = Service.objects.get(name="svc-00")
    form = {"service": service.pk, "summary": "Vendor answers within 4 h only", "reason": "Contract",
            "review_on": "2000-01-01", "ack_minutes": "4h"}
    assert client.post("/catalog/exceptions/request/", form).status_code == 400
    from datetime import timedelta

    from django.utils import timezone

    form["review_on"] = (timezone.localdate() + timedelta(days=10)).isoformat()
    assert client.post("/catalog/exceptions/request/", form).status_code == 302
    exception = service.legacy_exceptions.get()
    assert client.post(f"/catalog/exceptions/{exception.pk}/approve/").status_code == 403
    approver = login(make_user("root", roles=["admin"]))
    assert approver.post(f"/catalog/exceptions/{exception.pk}/approve/").status_code == 302
    exception.refresh_from_db()
    assert exception.status == "approved"
    services.request_exception(service, actor=SYSTEM, requested_by=None, summary="x", reason="y",
                               review_on=timezone.localdate() + timedelta(days=5))
    assert "Vendor answers within 4 h only" in approver.get("/catalog/exceptions/").content.decode()
