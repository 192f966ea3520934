"""Bad input gets a clean 4xx JSON error that names the problem, never a 500."""

import pytest
from django.test import Client


@pytest.fixture
def admin_client(make_user, bearer):
    return bearer(make_user("boss", roles=["admin"]))


def test_malformed_json(admin_client):
    response = admin_client.post("/api/v1/teams", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "parse" in response.json()["detail"].lower()


def test_wrong_type_names_the_field(admin_client):
    response = admin_client.post("/api/v1/teams", {"name": 42}, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "name"


def test_missing_field_names_the_field(admin_client):
    response = admin_client.post("/api/v1/users", {}, content_type="application/json")
    assert response.status_code == 422
    assert "username" in str(response.json()["detail"])


def test_service_validation_names_the_field(admin_client):
    response = admin_client.post(
        "/api/v1/users", {"username": "x1", "email": "not-an-address"}, content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert "email" in body["errors"] and body["detail"].startswith("email:")


def test_duplicate_is_a_clean_error_and_writes_nothing(admin_client):
    from tocsin.core.models import Team

    assert admin_client.post("/api/v1/teams", {"name": "Network"}, content_type="application/json").status_code == 201
    response = admin_client.post("/api/v1/teams", {"name": "network"}, content_type="application/json")
    assert response.status_code == 400 and "exists" in response.json()["detail"]
    assert Team.objects.count() == 1


def test_oversized_body_is_refused(admin_client):
    body = '{"name": "' + "x" * (1024 * 1024 + 10) + '"}'
    response = admin_client.post("/api/v1/teams", body, content_type="application/json")
    assert response.status_code == 413
    assert "exceeds" in response.json()["detail"]


def test_unknown_api_route_is_json_404(admin_client):
    response = admin_client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_unknown_object_is_json_404(admin_client):
    response = admin_client.get("/api/v1/users/999999")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_wrong_method_is_405(admin_client):
    assert admin_client.put("/api/v1/me").status_code == 405


def test_unauthenticated_is_401_json():
    response = Client().get("/api/v1/me")
    assert response.status_code == 401 and "bearer" in response.json()["detail"].lower()


def test_session_api_calls_need_csrf(make_user):
    user = make_user("sess", roles=["admin"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/v1/me").status_code == 200
    response = client.post("/api/v1/teams", {"name": "Blocked"}, content_type="application/json")
    assert response.status_code == 403


def test_unknown_html_route_is_a_friendly_page(db):
    response = Client().get("/no/such/page/")
    assert response.status_code == 404 and b"Nothing lives at" in response.content


@pytest.mark.parametrize("query", ["limit=0", "limit=100000", "offset=-1", f"offset={10**30}", "limit=abc"])
def test_pagination_bounds_are_4xx(admin_client, query):
    response = admin_client.get(f"/api/v1/teams?{query}")
    assert response.status_code == 422, response.content


def test_odd_time_zone_offsets_are_normalised(make_user, bearer):
    client = bearer(make_user("aud", roles=["auditor"]))
    response = client.get("/api/v1/audit", {"since": "2710-11-24T14:44:01+17:03", "until": "9999-12-31T23:00:00-05:00"})
    assert response.status_code in (200, 422), response.content
    assert client.get("/api/v1/audit", {"since": "2026-01-01T00:00:00"}).status_code == 200


def test_oversized_form_posts_get_a_page(make_user):
    client = Client()
    client.force_login(make_user("boss", roles=["admin"]))
    response = client.post("/admin/teams/", {"name": "x" * (1024 * 1024 + 10)})
    assert response.status_code == 413 and b"command line" in response.content
    assert response["Content-Type"].startswith("text/html")
