"""The notification settings pages with the Django test client: providers (administrators only;
health shown; settings checked; credentials write-only and kept when left empty; a test send
to the local SMTP sink), a person's notification chains (save, reorder, remove, reset; 403 for
others), and a service's or team's chat channels (team managers only; URLs never shown back)."""

import json
import re
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from tocsin.catalog import services as catalog
from tocsin.core import audit
from tocsin.core.models import AuditEntry
from tocsin.directory import services as directory
from tocsin.directory.models import ContactMethod
from tocsin.notify import services
from tocsin.notify.models import NotificationRule, Provider, ServiceChannel

from .servers import SmtpSink

SYSTEM = audit.Actor.system("test")
PROVIDERS = "/notify/providers/"


@pytest.fixture
def team(make_team):
    return make_team("Platform")


@pytest.fixture
def responder(login, make_user, team):
    return login(make_user("pat", roles=["responder"]))  # in no team: manages nothing


def text_of(response):
    return unescape(response.content.decode())


def field_errors(response, field):
    match = re.search(rf'data-field="{re.escape(field)}".*?(<ul class="errorlist[^>]*>.*?</ul>)',
                      response.content.decode(), re.S)
    return unescape(re.sub(r"<[^>]+>", " ", match.group(1))) if match else ""


def smtp_form(port, **overrides):
    values = {"name": "Mail relay", "kind": "smtp", "channels": ["email"], "priority": "5", "enabled": "on",
              "rate_per_minute": "0", "max_concurrent": "0",
              "smtp_host": "127.0.0.1", "smtp_port": str(port), "smtp_from_address": "tocsin@example.org",
              "smtp_security": "none", "smtp_verify_certificates": "on",
              "secret_username": "relay", "secret_password": "hunter2-very-secret"}
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


# --- providers ------------------------------------------------------------------


def test_providers_are_for_administrators_only(responder, make_user, login):
    Provider.objects.create(name="Twilio", kind="twilio", channels=["sms"])
    assert responder.get(PROVIDERS).status_code == 403
    assert responder.post(PROVIDERS + "new/", smtp_form(2525)).status_code == 403
    provider = Provider.objects.get()
    assert responder.post(f"{PROVIDERS}{provider.pk}/", smtp_form(2525)).status_code == 403
    assert responder.post(f"{PROVIDERS}{provider.pk}/test/", {"channel": "sms", "to": "+14155550100"}).status_code == 403
    assert list(Provider.objects.values_list("name", flat=True)) == ["Twilio"]
    assert AuditEntry.objects.filter(action="permission.denied").count() == 4
    anonymous = Client().get(PROVIDERS)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


def test_the_list_shows_health(admin):
    Provider.objects.create(name="Twilio", kind="twilio", channels=["sms", "voice"], healthy=False,
                            health_checked_at=timezone.now(), health_error="HTTP 401: Authenticate")
    Provider.objects.create(name="Relay", kind="smtp", channels=["email"])
    page = text_of(admin.get(PROVIDERS))
    assert re.search(r'data-provider="Twilio".*?unhealthy.*?checked .*?HTTP 401: Authenticate', page, re.S)
    assert re.search(r'data-provider="Relay".*?healthy.*?not checked yet', page, re.S)


def test_bad_settings_are_refused_under_their_field_and_nothing_saved(admin):
    response = admin.post(PROVIDERS + "new/", smtp_form(2525, extra_settings='{"helo": "x",}'))
    assert response.status_code == 400
    assert "line 1, column 14" in field_errors(response, "extra_settings")
    response = admin.post(PROVIDERS + "new/", smtp_form(2525, extra_settings='["host"]'))
    assert "JSON object" in field_errors(response, "extra_settings")
    response = admin.post(PROVIDERS + "new/", smtp_form(2525, smtp_host=""))
    assert "Required for SMTP e-mail providers" in field_errors(response, "smtp_host")
    response = admin.post(PROVIDERS + "new/", smtp_form(2525, channels=["sms"]))
    assert "cannot serve sms" in field_errors(response, "channels")
    response = admin.post(PROVIDERS + "new/", smtp_form(2525, secret_auth_token="tok"))
    assert "does not use this" in field_errors(response, "secret_auth_token")
    assert not Provider.objects.exists()
    assert "hunter2-very-secret" not in text_of(response)


def test_secrets_are_write_only_and_kept_when_left_empty_and_the_test_send_reaches_the_sink(admin):
    with SmtpSink(users={"relay": "hunter2-very-secret"}) as sink:
        created = admin.post(PROVIDERS + "new/", smtp_form(sink.port))
        assert created.status_code == 302
        provider = Provider.objects.get()
        assert json.loads(provider.secrets) == {"username": "relay", "password": "hunter2-very-secret"}

        edit = admin.get(f"{PROVIDERS}{provider.pk}/")
        assert edit.status_code == 200 and "hunter2-very-secret" not in text_of(edit)
        assert "Leave empty to keep the stored value" in text_of(edit)
        assert "hunter2-very-secret" not in text_of(admin.get(PROVIDERS))

        saved = admin.post(f"{PROVIDERS}{provider.pk}/", smtp_form(sink.port, priority="3", secret_username="",
                                                                   secret_password=""))
        assert saved.status_code == 302
        provider.refresh_from_db()
        assert provider.priority == 3
        assert json.loads(provider.secrets) == {"username": "relay", "password": "hunter2-very-secret"}

        result = admin.post(f"{PROVIDERS}{provider.pk}/test/", {"channel": "email", "to": "ops@example.org"})
        assert result.status_code == 200
        [message] = sink.wait_for(1)
        assert message["To"] == "ops@example.org" and sink.logins == ["relay"]
        assert re.search(r'id="test-result" data-status="(sent|delivered)"', result.content.decode())
        assert "hunter2-very-secret" not in text_of(result)

    assert AuditEntry.objects.filter(action="notify.provider_test").count() == 1


def test_a_failed_test_send_shows_the_providers_answer(admin):
    with SmtpSink(users={"relay": "right"}) as sink:
        provider = services.save_provider(actor=SYSTEM, secrets={"username": "relay", "password": "wrong"},
                                          name="Relay", kind="smtp", channels=["email"],
                                          settings={"host": "127.0.0.1", "port": sink.port,
                                                    "from_address": "tocsin@example.org", "security": "none"})
        result = admin.post(f"{PROVIDERS}{provider.pk}/test/", {"channel": "email", "to": "ops@example.org"})
        assert result.status_code == 200
        assert 'data-status="failed"' in result.content.decode()
        assert sink.messages == []
        refused = admin.post(f"{PROVIDERS}{provider.pk}/test/", {"channel": "sms", "to": "+14155550100"})
        assert refused.status_code == 400 and "valid choice" in field_errors(refused, "channel")


def test_posts_need_the_csrf_token(root):
    client = Client(enforce_csrf_checks=True)
    client.force_login(root)
    assert client.post(PROVIDERS + "new/", smtp_form(2525)).status_code == 403
    assert not Provider.objects.exists()


# --- notification rules ---------------------------------------------------------


@pytest.fixture
def ana(person, make_user, team):
    ana = person("Ana", user=make_user("ana"), teams=[team])
    ana.sms = directory.add_method(actor=SYSTEM, source="cli", person=ana, kind=ContactMethod.SMS, value="+14155550101")
    ana.mail = directory.add_method(actor=SYSTEM, source="cli", person=ana, kind=ContactMethod.EMAIL,
                                    value="ana@example.org")
    ana.voice = directory.add_method(actor=SYSTEM, source="cli", person=ana, kind=ContactMethod.VOICE,
                                     value="+14155550101")
    return ana


def rows(urgency, *items, extra=2):
    """The formset's POST for `urgency`: items are (method id, delay, order) or None for an empty row."""
    data = {"urgency": urgency, "action": "save", f"{urgency}-TOTAL_FORMS": str(len(items) + extra),
            f"{urgency}-INITIAL_FORMS": str(len(items)), f"{urgency}-MIN_NUM_FORMS": "0",
            f"{urgency}-MAX_NUM_FORMS": "10"}
    for index, item in enumerate(items):
        method, delay, order = item
        data.update({f"{urgency}-{index}-method": str(method), f"{urgency}-{index}-delay_minutes": str(delay),
                     f"{urgency}-{index}-ORDER": str(order)})
    return data


def chain(person, urgency):
    return list(NotificationRule.objects.filter(person=person, urgency=urgency).order_by("position")
                .values_list("method_id", "delay_minutes"))


def test_a_person_sees_their_default_chain_masked(ana, login):
    page = login(ana.user).get("/notify/rules/")
    assert page.status_code == 200
    text = text_of(page)
    assert "Your notification rules" in text and text.count("Default chain.") == 2
    assert "+1 *** *** 01" in text and "a***@example.org" in text
    assert "+14155550101" not in text and "ana@example.org" not in text


def test_a_person_saves_reorders_removes_and_resets_their_chain(ana, login):
    client = login(ana.user)
    saved = client.post("/notify/rules/", rows("high", (ana.sms.pk, 0, 2), (ana.voice.pk, 3, 1), (ana.mail.pk, 5, 3)))
    assert saved.status_code == 302
    assert chain(ana, "high") == [(ana.voice.pk, 3), (ana.sms.pk, 0), (ana.mail.pk, 5)]
    assert chain(ana, "low") == []
    assert "Custom chain." in text_of(client.get("/notify/rules/"))

    # Removing a row: an emptied method, or the remove box.
    data = rows("high", (ana.voice.pk, 3, 1), ("", 0, 2), (ana.mail.pk, 5, 3))
    client.post("/notify/rules/", data)
    assert chain(ana, "high") == [(ana.voice.pk, 3), (ana.mail.pk, 5)]
    data = rows("high", (ana.voice.pk, 3, 1), (ana.mail.pk, 5, 2))
    data["high-0-DELETE"] = "on"
    client.post("/notify/rules/", data)
    assert chain(ana, "high") == [(ana.mail.pk, 5)]

    reset = client.post("/notify/rules/", {**rows("high"), "action": "reset"})
    assert reset.status_code == 302 and chain(ana, "high") == []
    assert AuditEntry.objects.filter(action="notify.rules_set").count() == 4


def test_rule_errors_are_shown_next_to_the_row_and_nothing_is_saved(ana, person, login):
    other = person("Ben")
    bens = directory.add_method(actor=SYSTEM, source="cli", person=other, kind=ContactMethod.SMS, value="+14155550102")
    client = login(ana.user)
    too_late = client.post("/notify/rules/", rows("low", (ana.sms.pk, 5000, 1)))
    assert too_late.status_code == 400
    assert re.search(r'data-row="0".*?data-field="delay_minutes".*?less than or equal to 1440',
                     too_late.content.decode(), re.S)
    not_hers = client.post("/notify/rules/", rows("low", (bens.pk, 0, 1)))
    assert not_hers.status_code == 400 and "valid choice" in text_of(not_hers)
    wrong = client.post("/notify/rules/", {**rows("low", (ana.sms.pk, 0, 1)), "urgency": "urgent"})
    assert wrong.status_code == 400
    assert not NotificationRule.objects.exists()


def test_others_rules_need_contacts_write_for_their_team(ana, make_user, login, person):
    page = f"/notify/people/{ana.pk}/rules/"
    stranger = login(make_user("sam", roles=["viewer"]))
    assert stranger.get(page).status_code == 403
    assert stranger.post(page, rows("high", (ana.sms.pk, 0, 1))).status_code == 403
    assert not NotificationRule.objects.exists()

    steward = login(make_user("stew", roles=[("contact_steward", "platform")]))
    assert "Notification rules of Ana" in text_of(steward.get(page))
    assert steward.post(page, rows("high", (ana.mail.pk, 0, 1))).status_code == 302
    assert chain(ana, "high") == [(ana.mail.pk, 0)]
    assert login(ana.user).get(page).status_code == 200  # her own, by id too


def test_a_user_without_a_directory_person_is_told_so(make_user, login):
    response = login(make_user("nobody")).get("/notify/rules/")
    assert response.status_code == 404 and "No directory person is linked" in text_of(response)


# --- channels -------------------------------------------------------------------


@pytest.fixture
def service(team):
    return catalog.create_service(actor=SYSTEM, source="cli", name="Payments", kind="technical", owner_team=team,
                                  tier=2)


@pytest.fixture
def manager(login, make_user, team):
    return login(make_user("mia", roles=["responder"], teams=["platform"]))


SLACK_URL = "https://hooks.slack.com/services/T0/B0/secretTOKEN"


def channel_form(**overrides):
    return {"name": "#ops", "kind": "slack", "url": SLACK_URL, "events": ["triggered", "resolved"], "enabled": "on",
            **overrides}


def test_service_channels_are_for_the_owner_teams_managers(service, team, responder, manager):
    page = f"/notify/services/{service.pk}/channels/"
    assert responder.get(page).status_code == 403
    assert responder.post(page, channel_form()).status_code == 403
    assert responder.get(f"/notify/teams/{team.slug}/channels/").status_code == 403
    assert not ServiceChannel.objects.exists()

    added = manager.post(page, channel_form())
    assert added.status_code == 302
    channel = ServiceChannel.objects.get()
    assert (channel.service, channel.url, channel.events) == (service, SLACK_URL, ["triggered", "resolved"])
    listing = text_of(manager.get(page))
    assert "https://hooks.slack.com/…/OKEN" in listing and "secretTOKEN" not in listing

    assert responder.post(f"/notify/channels/{channel.pk}/remove/").status_code == 403
    assert manager.post(f"/notify/channels/{channel.pk}/remove/").status_code == 302
    assert not ServiceChannel.objects.exists()


def test_a_bad_channel_is_refused_under_its_field_without_echoing_the_url(service, manager):
    page = f"/notify/services/{service.pk}/channels/"
    response = manager.post(page, channel_form(url="https://example.org/hooks/secretTOKEN"))
    assert response.status_code == 400
    assert "hooks.slack.com" in field_errors(response, "url")
    assert "secretTOKEN" not in text_of(response)
    response = manager.post(page, channel_form(events=[]))
    assert "required" in field_errors(response, "events")
    response = manager.post(page, channel_form(kind="webhook", url="https://siem.example.org/in"))
    assert "at least 16 characters" in field_errors(response, "secret")
    assert not ServiceChannel.objects.exists()


def test_team_channels_page_adds_a_teams_channel(team, service, manager):
    page = f"/notify/teams/{team.slug}/channels/"
    url = "https://prod-01.westeurope.logic.azure.com/workflows/abc/triggers/manual/run?sig=topSECRET"
    assert manager.post(page, channel_form(name="Platform room", kind="teams", url=url)).status_code == 302
    channel = ServiceChannel.objects.get()
    assert channel.team == team and channel.service is None
    assert "topSECRET" not in text_of(manager.get(page))
    inherited = text_of(manager.get(f"/notify/services/{service.pk}/channels/"))
    assert "Platform room" in inherited and "topSECRET" not in inherited
