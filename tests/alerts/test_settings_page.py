"""The alert settings page of a service: shown to readers, changed by its team's managers."""

import pytest

from tocsin.alerts.models import ServiceAlertSettings


@pytest.fixture
def manager(client, make_user, service):
    client.force_login(make_user("lead", roles=[("responder", service.owner_team.slug)],
                                 teams=[service.owner_team.slug]))
    return client


def url(service):
    return f"/alerts/services/{service.pk}/settings/"


FORM = {"grouping": "key", "group_labels": "alertname, cluster", "group_window_minutes": "15",
        "resolve_with_alerts": "on", "suppress_dependents": "on", "baseline_window_minutes": "60",
        "flood_limit": "30", "flood_window_minutes": "10",
        "link_templates": "Dashboard | https://grafana.example/d/x?var-host={{labels.host}}"}


def test_a_manager_saves_the_settings(manager, service):
    page = manager.get(url(service)).content.decode()
    assert "Save settings" in page and 'value="20"' in page  # the default flood limit
    response = manager.post(url(service), FORM)
    assert response.status_code == 302
    saved = ServiceAlertSettings.objects.get(service=service)
    assert (saved.grouping, saved.group_labels, saved.group_window_minutes, saved.flood_limit) == (
        "key", ["alertname", "cluster"], 15, 30)
    assert saved.link_templates == [{"text": "Dashboard", "href": "https://grafana.example/d/x?var-host={{labels.host}}"}]


def test_bad_settings_are_shown_by_field_and_change_nothing(manager, service):
    response = manager.post(url(service), {**FORM, "min_occurrences": "3",
                                           "link_templates": "Evil | javascript:alert(1)"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Each link is {text, href} with an http(s) href." in page
    assert not ServiceAlertSettings.objects.exists()


def test_readers_see_but_cannot_change(client, make_user, service):
    client.force_login(make_user("reader", roles=["viewer"]))
    page = client.get(url(service)).content.decode()
    assert "Save settings" not in page and "disabled" in page
    assert client.post(url(service), FORM).status_code == 403
    assert not ServiceAlertSettings.objects.exists()
