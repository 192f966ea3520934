"""Alert pages with the Django test client: a service's integrations (added with the key shown
once and a command to send a test alert, re-keyed, deleted; POST with CSRF only, by the owner team),
and the alerts list with its filters, suppressed alerts with their reason, security alerts hidden
from those who may not see them, and no query per row."""

import re
import shlex
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tocsin.alerts.models import Alert, Integration, key_digest
from tocsin.core.models import AuditEntry
from tocsin.incidents import services as incidents

from .conftest import SYSTEM


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.BASE_URL = "https://tocsin.example.org"


@pytest.fixture
def owner(login, make_user, service):
    return login(make_user("pat", roles=["responder"], teams=[service.owner_team.slug]))


@pytest.fixture
def outsider(login, make_user, make_team):
    make_team("Network")
    return login(make_user("nina", roles=["responder"], teams=["network"]))


def page(service):
    return f"/alerts/services/{service.pk}/integrations/"


def rows(response, attribute):
    return [int(n) for n in re.findall(rf'data-{attribute}="(\d+)"', response.content.decode())]


def shown_key(response):
    found = re.search(r'data-testid="integration-key">([0-9a-f]{32})<', response.content.decode())
    return found.group(1) if found else None


# --- integrations ------------------------------------------------------------------------------


def test_adding_an_integration_shows_its_key_once_with_a_test_command(owner, service):
    response = owner.post(page(service), {"kind": "events-v2", "name": "Nagios", "options": ""})
    assert response.status_code == 200
    key = shown_key(response)
    integration = Integration.objects.get()
    assert key and integration.key_hash == key_digest(key) and integration.name == "Nagios"
    html = response.content.decode()
    assert "https://tocsin.example.org/v2/enqueue" in html
    assert f"https://tocsin.example.org/integrations/{key}/batch" in html
    assert "curl -sS -X POST" in html and f"&quot;routing_key&quot;: &quot;{key}&quot;" in html
    assert "no-store" in response["Cache-Control"]
    listed = owner.get(page(service))
    assert rows(listed, "integration") == [integration.pk]
    assert key not in listed.content.decode() and f"{key[:4]}…" in listed.content.decode()


@pytest.mark.parametrize("kind, expected", [
    ("email", "swaks --server tocsin.example.org:2525 --to {key}@tocsin.example.org"),
    ("heartbeat", "curl -fsS https://tocsin.example.org/integrations/{key}/heartbeat"),
    ("alertmanager", "https://tocsin.example.org/integrations/{key}/alertmanager"),
])
def test_each_kind_gets_its_own_address_and_example(owner, service, kind, expected):
    response = owner.post(page(service), {"kind": kind})
    key = shown_key(response)
    assert expected.format(key=key) in response.content.decode()


def test_bad_options_are_shown_on_the_form_and_nothing_is_saved(owner, service):
    for options in ("{not json", "[1, 2]"):
        response = owner.post(page(service), {"kind": "webhook", "options": options})
        assert response.status_code == 400 and 'class="errorlist' in response.content.decode()
        assert shown_key(response) is None
    response = owner.post(page(service), {"kind": "heartbeat", "options": '{"interval_seconds": 5}'})
    assert response.status_code == 400 and "interval_seconds: " in response.content.decode()
    response = owner.post(page(service), {"kind": "sms"})
    assert response.status_code == 400
    assert not Integration.objects.exists()


def test_others_see_the_integrations_but_cannot_change_them(outsider, service, integration):
    made, key = integration()
    response = outsider.get(page(service))
    html = response.content.decode()
    assert response.status_code == 200 and rows(response, "integration") == [made.pk]
    assert 'id="add-integration"' not in html and "Replace key" not in html
    assert outsider.post(page(service), {"kind": "webhook"}).status_code == 403
    assert outsider.post(f"/alerts/integrations/{made.pk}/rotate-key/").status_code == 403
    assert outsider.post(f"/alerts/integrations/{made.pk}/delete/").status_code == 403
    made.refresh_from_db()
    assert Integration.objects.count() == 1 and made.key_hash == key_digest(key)


def test_rotating_shows_the_new_key_and_only_by_post(owner, integration):
    made, old = integration()
    assert owner.get(f"/alerts/integrations/{made.pk}/rotate-key/").status_code == 405
    response = owner.post(f"/alerts/integrations/{made.pk}/rotate-key/")
    new = shown_key(response)
    assert new and new != old and "previous key no longer works" in response.content.decode()
    made.refresh_from_db()
    assert made.key_hash == key_digest(new)
    assert AuditEntry.objects.filter(action="alerts.integration.rotate_key").count() == 1


def test_deleting_goes_back_to_the_service(owner, service, integration):
    made, _ = integration(name="Legacy Nagios")
    response = owner.post(f"/alerts/integrations/{made.pk}/delete/", follow=True)
    assert response.redirect_chain[-1][0] == page(service)
    assert "Legacy Nagios is deleted" in response.content.decode() and not Integration.objects.exists()


def test_every_change_needs_the_csrf_token(login, make_user, service, integration):
    made, _ = integration()
    strict = login(make_user("pat", roles=["responder"], teams=[service.owner_team.slug]), enforce_csrf_checks=True)
    assert strict.post(page(service), {"kind": "webhook"}).status_code == 403
    assert strict.post(f"/alerts/integrations/{made.pk}/rotate-key/").status_code == 403
    assert strict.post(f"/alerts/integrations/{made.pk}/delete/").status_code == 403
    assert Integration.objects.count() == 1
    # Every form that posts carries the token.
    html = strict.get(page(service)).content.decode()
    assert html.count('method="post"') == html.count("csrfmiddlewaretoken") >= 3


def test_signed_out_visitors_are_sent_to_sign_in(client, service):
    assert client.get(page(service)).status_code == 302 and client.get("/alerts/").status_code == 302


# --- the alerts list ---------------------------------------------------------------------------

T0 = timezone.now().replace(microsecond=0) - timedelta(hours=5)


def make_alert(service, *, minutes=0, **fields):
    at = T0 + timedelta(minutes=minutes)
    return Alert.objects.create(service=service, dedup_key=fields.pop("dedup_key", f"k{Alert.objects.count()}"),
                                summary=fields.pop("summary", "Disk full"), first_seen=at, last_seen=at, **fields)


@pytest.fixture
def alerts(service, integration):
    made, _ = integration(name="Prometheus")
    incident = incidents.trigger_incident(service, "Checkout down", actor=SYSTEM)
    return {
        "paged": make_alert(service, integration=made, incident=incident, handling=Alert.PAGED, severity="critical",
                            summary="Checkout 5xx", minutes=0),
        "suppressed": make_alert(service, integration=made, handling=Alert.SUPPRESSED, severity="info",
                                 summary="Queue slow", reason="Peak hours: record only", minutes=5),
        "security": make_alert(service, security=True, summary="Brute force on login", minutes=10),
        "resolved": make_alert(service, status=Alert.RESOLVED, summary="Old news", minutes=15),
    }


def test_the_list_shows_alerts_with_their_fate_and_reason(owner, alerts):
    response = owner.get("/alerts/")
    assert response.status_code == 200
    assert rows(response, "alert") == [alerts[n].pk for n in ("resolved", "suppressed", "paged")]
    html = response.content.decode()
    assert 'data-testid="reason">Peak hours: record only<' in html
    incident = alerts["paged"].incident
    assert f'href="/incidents/{incident.number}/">#{incident.number}</a>' in html
    assert "Brute force" not in html


def test_filters(owner, alerts, service, make_service):
    other = make_service("Search", "Search team")
    alerts = {**alerts, "other": make_alert(other, summary="Index lag", minutes=20)}
    cases = {
        "handling=suppressed": ["suppressed"],
        "status=open": ["other", "suppressed", "paged"],
        "status=resolved": ["resolved"],
        "severity=critical": ["paged"],
        f"incident={alerts['paged'].incident.number}": ["paged"],
        "q=queue": ["suppressed"],
        f"since={(T0 + timedelta(minutes=4)):%Y-%m-%dT%H:%M}": ["other", "resolved", "suppressed"],
        f"until={(T0 + timedelta(minutes=4)):%Y-%m-%dT%H:%M}": ["paged"],
        f"service={service.pk}&severity=info": ["suppressed"],
    }
    for query, expected in cases.items():
        response = owner.get(f"/alerts/?{query}")
        assert response.status_code == 200, query
        assert rows(response, "alert") == [alerts[n].pk for n in expected], query


def test_an_invalid_filter_is_shown_not_obeyed(owner, alerts):
    response = owner.get("/alerts/?severity=fatal")
    assert response.status_code == 400 and 'class="errorlist' in response.content.decode()
    assert len(rows(response, "alert")) == 3


def test_security_officers_see_security_alerts(login, make_user, alerts):
    officer = login(make_user("sue", roles=["security_officer"]))
    response = officer.get("/alerts/")
    assert alerts["security"].pk in rows(response, "alert") and "security</span>" in response.content.decode()


def test_the_list_costs_the_same_queries_for_few_alerts_or_many(owner, alerts, service, make_service, integration):
    def cost():
        with CaptureQueriesContext(connection) as queries:
            assert owner.get("/alerts/").status_code == 200
        return len(queries)

    cost()
    few = cost()
    other = make_service("Search", "Search team")
    made, _ = integration(on=other)
    incident = incidents.trigger_incident(other, "Search down", actor=SYSTEM)
    for index in range(20):
        make_alert(other, integration=made, incident=incident, minutes=30 + index, dedup_key=f"s{index}")
    assert cost() == few


@pytest.mark.parametrize("kind", ["events-v2", "alertmanager", "grafana", "webhook", "heartbeat"])
def test_the_example_command_really_sends_an_alert(ingest, login, make_user, service, kind):
    """The shown command, taken apart as a shell would, is accepted by the ingestion endpoint."""
    owner = login(make_user("pat", roles=["responder"], teams=[service.owner_team.slug]))
    response = owner.post(page(service), {"kind": kind})
    command = unescape(re.search(r'data-testid="send-example">([^<]+)<', response.content.decode()).group(1))
    words = shlex.split(command)
    assert words[0] == "curl"
    url = next(word for word in words if word.startswith("https://tocsin.example.org/"))
    path = url.removeprefix("https://tocsin.example.org")
    if "-d" in words:
        answer = ingest.post(path, content=words[words.index("-d") + 1].encode(),
                             headers={"content-type": "application/json"})
        assert answer.status_code == 202, answer.text
        assert Alert.objects.filter(service=service).count() == 1
    else:
        assert ingest.get(path).status_code == 200
