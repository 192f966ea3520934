"""Schemathesis drives every API operation with generated input: none may answer 5xx; the notify
operations are also driven against real rows, and must answer as their schemas say."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tocsin.core import audit, services
from tocsin.core.permissions import PERMISSIONS

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """As Django's test client does: a request must not close the test's database connection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_header(make_user, make_team):
    make_team("Network")
    user = make_user("fuzz-admin", roles=["admin"])
    # Every permission as an explicit scope, so that writes (contacts:write) are exercised too.
    _, secret = services.issue_token(user, actor=audit.Actor.system("test"), name="fuzz", scopes=list(PERMISSIONS))
    return {"Authorization": f"Bearer {secret}"}


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_api_never_answers_5xx(case, admin_header):
    case.call_and_validate(headers={**admin_header, "Host": "127.0.0.1"}, checks=[not_a_server_error])


# --- the notify operations, with something to act on -------------------------------------------
# Against an empty database every notify operation that names a row answers 404 before its handler
# does anything. Here each path parameter is pointed at a real row (and a rule at a real method), so
# the generated bodies reach the services, and the answers must match the documented schemas too.
# Each example runs in a savepoint that is rolled back: a deleted channel or a changed provider
# does not leak into the next one.

notify_schema = schema.include(tag="notifications")


@pytest.fixture
def notify_world(admin_header, make_team, person):
    from tocsin.catalog import services as catalog
    from tocsin.directory import services as directory
    from tocsin.escalation.models import NotificationRequest
    from tocsin.incidents import services as incidents
    from tocsin.notify import services_channels
    from tocsin.notify.models import Attempt, Provider

    from .notify.servers import SmtpSink

    system = audit.Actor.system("test")
    team = make_team("Payments")
    service = catalog.create_service(actor=system, source="cli", name="Checkout", kind="technical",
                                     owner_team=team, tier=2)
    ana = person("Ana")
    methods = [directory.add_method(actor=system, source="cli", person=ana, kind=kind, value=value)
               for kind, value in (("email", "ana@example.org"), ("sms", "+14155550101"))]
    incident = incidents.trigger_incident(service, "Card payments failing", actor=system)
    request = NotificationRequest.objects.create(key="fuzz", incident=incident, person=ana, reason="tier",
                                                 urgency="high")
    Attempt.objects.create(request=request, incident=incident, person=ana, step=0, method=methods[0],
                           channel="email", destination="a…@example.org", due_at=incident.created_at)
    channel = services_channels.add_channel(service=service, actor=system, name="#payments", kind="slack",
                                            url="https://hooks.slack.com/services/T0/B0/fuzz",
                                            events=["triggered"])
    with SmtpSink() as sink:
        provider = Provider.objects.create(name="mail", kind=Provider.SMTP, channels=["email"], settings={
            "host": sink.host, "port": sink.port, "from_address": "tocsin@example.org", "security": "none"})
        yield {"person_id": ana.pk, "method_id": methods[0].pk, "incident_id": incident.pk,
               "provider_id": provider.pk, "channel_id": channel.pk, "service_id": service.pk,
               "slug": team.slug, "methods": [m.pk for m in methods], "sink": sink}


CHANNEL_URLS = {"slack": "https://hooks.slack.com/services/", "teams": "https://example.webhook.office.com/",
                "webhook": "https://hooks.example.org/"}


def _aim(case, world):
    """Point the generated case at the world's rows, and give a provider a real kind and channels
    and a chat channel a URL of its kind; the rest stays as generated."""
    from urllib.parse import quote

    from tocsin.notify.models import URGENCIES, Provider
    from tocsin.notify.providers import load
    from tocsin.notify.providers.base import implementation

    for name, value in list((case.path_parameters or {}).items()):
        if name == "urgency":
            case.path_parameters[name] = URGENCIES[len(str(value)) % len(URGENCIES)][0]
        elif name in world:
            case.path_parameters[name] = world[name]
    body = case.body if isinstance(case.body, dict) else {}
    rules = body.get("rules")
    for rule in rules if isinstance(rules, list) else []:
        if isinstance(rule, dict) and isinstance(rule.get("method"), int):
            rule["method"] = world["methods"][rule["method"] % len(world["methods"])]
    if case.operation.method.upper() == "POST" and case.path == "/api/v1/notify/providers":
        kinds = [kind for kind, _ in Provider.KINDS]
        if isinstance(body.get("kind"), str):
            body["kind"] = kinds[len(body["kind"]) % len(kinds)]
            if isinstance(body.get("channels"), list):
                load()
                served = list(implementation(body["kind"]).channels)
                body["channels"] = served[:max(1, len(body["channels"]))]
    kind, url = body.get("kind"), body.get("url")
    if case.path.endswith("/channels") and isinstance(kind, str) and kind in CHANNEL_URLS and isinstance(url, str):
        body["url"] = CHANNEL_URLS[kind] + quote(url, safe="")[:200]


@notify_schema.parametrize()
@settings(suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_notify_api_with_data_never_answers_5xx_and_keeps_to_its_schema(case, admin_header, notify_world):
    from django.db import transaction

    _aim(case, notify_world)
    with transaction.atomic():
        case.call_and_validate(headers={**admin_header, "Host": "127.0.0.1"},
                               checks=[not_a_server_error, response_schema_conformance])
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_a_null_in_a_provider_patch_leaves_that_field_as_it_was(admin_header, notify_world):
    """Found by the run above: the schema allows null, which used to be a 400 quoting Django."""
    import json

    from django.test import Client

    from tocsin.notify.models import Provider

    url = f"/api/v1/notify/providers/{notify_world['provider_id']}"
    body = {"priority": 5, "enabled": None, "settings": None, "rate_per_minute": None, "secrets": None}
    response = Client().patch(url, json.dumps(body), content_type="application/json", headers=admin_header)
    assert response.status_code == 200, response.content
    provider = Provider.objects.get(pk=notify_world["provider_id"])
    assert (provider.priority, provider.enabled, provider.rate_per_minute) == (5, True, 0)
    assert provider.settings["from_address"] == "tocsin@example.org"
    assert response.json()["settings"] == provider.settings


@pytest.mark.django_db
def test_a_test_send_checks_the_address_for_its_channel(admin_header, notify_world):
    """Found by the run above: an address a relay cannot take (not ASCII) was a 500 from the SMTP client."""
    import json

    from django.test import Client

    url = f"/api/v1/notify/providers/{notify_world['provider_id']}/test"

    def send(to):
        return Client().post(url, json.dumps({"channel": "email", "to": to}), content_type="application/json",
                             headers=admin_header)

    for bad in ("not an address", "ü@example.org", "a@" + "ü" * 62 + ".org"):
        refused = send(bad)
        assert refused.status_code == 400, refused.content
        assert list(refused.json()["errors"]) == ["to"]
    refused = send("a@\udad2.org")  # a lone surrogate: not text at all
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][-1] == "to", refused.content
    sent = send("ana@bücher.example")
    assert sent.status_code == 200 and sent.json()["status"] != "failed", sent.content
    notify_world["sink"].wait_for(1)
    assert notify_world["sink"].envelopes[0].rcpt_tos == ["ana@xn--bcher-kva.example"]


@pytest.mark.django_db
@pytest.mark.parametrize("settings_", [{"host\x00": "x"}, {"host": {"deep": ["\x00"]}}, {"host": "\ud800"}])
def test_provider_settings_postgresql_cannot_store_are_refused_naming_the_field(admin_header, settings_):
    """Found on PostgreSQL: a NUL or a lone surrogate inside the settings JSON was a 500 from jsonb."""
    import json

    from django.test import Client

    from tocsin.notify.models import Provider

    body = {"name": "Mail", "kind": "smtp", "channels": ["email"], "settings": settings_}
    response = Client().post("/api/v1/notify/providers", json.dumps(body), content_type="application/json",
                             headers=admin_header)
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"][-1] == "settings"
    assert not Provider.objects.exists()
