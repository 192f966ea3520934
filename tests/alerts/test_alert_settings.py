"""A service's alert settings through the API: defaults, partial changes, validation, permission."""

import pytest

from tocsin.alerts.models import ServiceAlertSettings
from tocsin.core.models import AuditEntry


@pytest.fixture
def admin_client(make_user, bearer):
    return bearer(make_user("root", roles=["admin"]))


def url(service):
    return f"/api/v1/services/{service.pk}/alert-settings"


def test_a_service_never_configured_shows_the_defaults(admin_client, service):
    body = admin_client.get(url(service)).json()
    assert body["grouping"] == "none" and body["resolve_with_alerts"] is True and body["min_occurrences"] is None
    assert not ServiceAlertSettings.objects.exists()


def test_a_partial_change_keeps_the_rest_and_is_audited(admin_client, service):
    response = admin_client.patch(url(service), {"grouping": "key", "group_labels": ["alertname", "cluster"],
                                                  "group_window_minutes": 15}, content_type="application/json")
    assert response.status_code == 200, response.content
    response = admin_client.patch(url(service), {"min_occurrences": 3, "occurrence_window_minutes": 5},
                                  content_type="application/json")
    body = response.json()
    assert (body["grouping"], body["group_labels"], body["group_window_minutes"]) == ("key", ["alertname", "cluster"], 15)
    assert (body["min_occurrences"], body["occurrence_window_minutes"]) == (3, 5)
    cleared = admin_client.patch(url(service), {"min_occurrences": None, "occurrence_window_minutes": None},
                                 content_type="application/json").json()
    assert cleared["min_occurrences"] is None and cleared["grouping"] == "key"
    assert AuditEntry.objects.filter(action="alerts.settings.update").count() == 3


@pytest.mark.parametrize("change, field", [
    ({"grouping": "clever"}, "grouping"),
    ({"group_window_minutes": 0}, "group_window_minutes"),
    ({"min_occurrences": 3}, "min_occurrences"),
    ({"baseline_deviations": 50}, "baseline_deviations"),
    ({"link_templates": [{"text": "x", "href": "javascript:alert(1)"}]}, "link_templates[0]"),
])
def test_bad_settings_name_the_field_and_change_nothing(admin_client, service, change, field):
    response = admin_client.patch(url(service), change, content_type="application/json")
    assert response.status_code in (400, 422) and field in response.content.decode()
    assert not ServiceAlertSettings.objects.exists()


def test_only_managers_of_the_owning_team_change_settings(make_user, bearer, service, make_team):
    make_team("Elsewhere")
    outsider = bearer(make_user("outsider", roles=[("responder", "elsewhere")], teams=["elsewhere"]))
    assert outsider.get(url(service)).status_code == 200
    assert outsider.patch(url(service), {"grouping": "key"}, content_type="application/json").status_code == 403
