"""The provider form's per-kind settings fields: each kind's fields become its settings (and only
the chosen kind's count), required ones and bad values are refused under their field, the advanced
JSON adds other keys, an edit page shows the stored settings back in the fields, and a gateway set
up through the form sends what the fields say to a real local receiver.

The target URL of a Slack, Teams, signed webhook or Apprise provider is a credential: stored
encrypted with the secrets (form, API, and the 0002 migration for rows saved before), never shown
back by the edit page or the API, and still what the provider posts to."""

import json
import re
from html import unescape

import pytest
from django.contrib.staticfiles import finders
from django.db import connection

from tocsin.core import audit
from tocsin.notify import direct, services
from tocsin.notify.services import URL_KINDS
from tocsin.notify.forms_settings import SETTING_DEFAULTS, ProviderForm, settings_initial
from tocsin.notify.models import Provider
from tocsin.notify.provider_choice import config_of
from tocsin.notify.providers import apprise as apprise_provider
from tocsin.notify.providers.base import DELIVERED, Message, build

from tests.support.migrations import migrate_to, migrate_to_latest

from .servers import WebhookReceiver

SYSTEM = audit.Actor.system("test")
NEW = "/notify/providers/new/"


def form(kind, channels, **fields):
    values = {"name": f"{kind} one", "kind": kind, "channels": channels, "priority": "10", "enabled": "on",
              "rate_per_minute": "0", "max_concurrent": "0", **fields}
    return {k: v for k, v in values.items() if v is not None}


def field_errors(response, field):
    match = re.search(rf'data-field="{re.escape(field)}".*?(<ul class="errorlist[^>]*>.*?</ul>)',
                      response.content.decode(), re.S)
    return unescape(re.sub(r"<[^>]+>", " ", match.group(1))) if match else ""


def created(admin, data):
    response = admin.post(NEW, data)
    assert response.status_code == 302, unescape(response.content.decode())
    return Provider.objects.get(name=data["name"])


# --- each kind's fields become its settings ----------------------------------------


def test_smtp_fields_become_its_settings(admin):
    provider = created(admin, form("smtp", ["email"], smtp_host="mail.example.org", smtp_port="2525",
                                   smtp_security="starttls", smtp_from_address="Tocsin <tocsin@example.org>",
                                   smtp_timeout="7.5", smtp_ca_file="/etc/ssl/private-ca.pem"))
    # verify_certificates unticked: the one default that is stored when changed.
    assert provider.settings == {"host": "mail.example.org", "port": 2525, "security": "starttls",
                                 "from_address": "Tocsin <tocsin@example.org>", "timeout": 7.5,
                                 "ca_file": "/etc/ssl/private-ca.pem", "verify_certificates": False}


def test_twilio_fields_become_its_settings(admin):
    provider = created(admin, form("twilio", ["sms", "voice"], twilio_from_number="+14155550100",
                                   twilio_messaging_service_sid="MG" + "a1" * 16,
                                   twilio_machine_detection="DetectMessageEnd", twilio_timeout="20",
                                   twilio_base_url="http://twilio-stub:8080", allow_private_addresses="on"))
    assert provider.settings == {"from_number": "+14155550100", "messaging_service_sid": "MG" + "a1" * 16,
                                 "machine_detection": "DetectMessageEnd", "timeout": 20,
                                 "base_url": "http://twilio-stub:8080", "allow_private_addresses": True}


def test_gateway_fields_become_its_settings(admin):
    provider = created(admin, form(
        "sms_gateway", ["sms"], sms_gateway_url="https://sms.example.org/api/send", sms_gateway_method="POST",
        sms_gateway_content_type="form", sms_gateway_body_template='{"number": "{to}", "message": "{text}"}',
        sms_gateway_from="Tocsin", sms_gateway_headers="X-Api-Version: 2\n\nX-Tenant:  ops ",
        sms_gateway_success_statuses="200, 202", sms_gateway_id_path="messages.0.id"))
    assert provider.settings == {
        "url": "https://sms.example.org/api/send", "content_type": "form",
        "body_template": {"number": "{to}", "message": "{text}"}, "from": "Tocsin",
        "headers": {"X-Api-Version": "2", "X-Tenant": "ops"}, "success_statuses": [200, 202],
        "id_path": "messages.0.id"}


@pytest.mark.parametrize("kind", ["slack", "teams", "webhook"])
def test_chat_and_webhook_kinds_take_a_url(admin, kind):
    provider = created(admin, form(kind, ["chat"], **{f"{kind}_url": "https://hooks.example.org/T0/B0"}))
    # A credential: kept with the encrypted secrets, not in the settings.
    assert provider.settings == {} and json.loads(provider.secrets) == {"url": "https://hooks.example.org/T0/B0"}
    response = admin.post(NEW, form(kind, ["chat"], name="second", **{f"{kind}_url": "ftp://hooks.example.org/x"}))
    assert response.status_code == 400 and "http:// or https://" in field_errors(response, f"{kind}_url")


def test_apprise_takes_an_apprise_url_and_never_echoes_a_bad_one(admin):
    provider = created(admin, form("apprise", ["chat"], apprise_url="json://hooks.example.org/notify"))
    assert provider.settings == {} and json.loads(provider.secrets) == {"url": "json://hooks.example.org/notify"}
    response = admin.post(NEW, form("apprise", ["chat"], name="bad", apprise_url="nosuchscheme://secretTOKEN"))
    assert response.status_code == 400 and "Apprise cannot use" in field_errors(response, "apprise_url")
    assert "secretTOKEN" not in unescape(response.content.decode())  # not even as the field's value


def test_other_kinds_fields_are_ignored_whatever_they_hold(admin):
    provider = created(admin, form("slack", ["chat"], slack_url="https://hooks.example.org/x",
                                   smtp_host="", smtp_port="not a port", sms_gateway_url="nonsense",
                                   sms_gateway_headers="no colon here", twilio_from_number="??",
                                   twilio_timeout="abc", sms_gateway_body_template="{"))
    assert provider.settings == {} and json.loads(provider.secrets) == {"url": "https://hooks.example.org/x"}


def test_empty_optional_fields_and_defaults_store_nothing(admin):
    provider = created(admin, form("sms_gateway", ["sms"], sms_gateway_url="https://sms.example.org/send",
                                   sms_gateway_method="POST", sms_gateway_content_type="json",
                                   sms_gateway_headers="", sms_gateway_success_statuses=" , "))
    assert provider.settings == {"url": "https://sms.example.org/send"}


# --- refusals name the field ----------------------------------------------------------


@pytest.mark.parametrize("kind, channels, fields, field, error", [
    ("smtp", ["email"], {"smtp_from_address": "a@example.org"}, "smtp_host", "Required for SMTP e-mail providers"),
    ("smtp", ["email"], {"smtp_host": "mail", "smtp_from_address": ""}, "smtp_from_address", "Required for SMTP"),
    ("smtp", ["email"], {"smtp_host": "mail", "smtp_from_address": "not an address"}, "smtp_from_address",
     "Enter an e-mail address"),
    ("smtp", ["email"], {"smtp_host": "mail", "smtp_from_address": "a@example.org", "smtp_port": "70000"},
     "smtp_port", "less than or equal to 65535"),
    ("smtp", ["email"], {"smtp_host": "mail", "smtp_from_address": "a@example.org", "smtp_security": "ssl"},
     "smtp_security", "valid choice"),
    ("twilio", ["sms"], {}, "twilio_from_number", "from number or a messaging service SID"),
    ("twilio", ["voice"], {"twilio_messaging_service_sid": "MG" + "0" * 32}, "twilio_from_number",
     "Required for voice calls"),
    ("twilio", ["sms", "voice"], {"twilio_from_number": "Tocsin"}, "twilio_from_number", "E.164"),
    ("twilio", ["sms"], {"twilio_from_number": "+1 415 555"}, "twilio_from_number", "E.164"),
    ("twilio", ["sms"], {"twilio_from_number": "+14155550100", "twilio_messaging_service_sid": "MGxyz"},
     "twilio_messaging_service_sid", "32 hexadecimal digits"),
    ("twilio", ["sms"], {"twilio_from_number": "+14155550100", "twilio_timeout": "0"}, "twilio_timeout",
     "greater than or equal to 0.1"),
    ("sms_gateway", ["sms"], {}, "sms_gateway_url", "Required for HTTP SMS gateway providers"),
    ("sms_gateway", ["sms"], {"sms_gateway_url": "sms.example.org/send"}, "sms_gateway_url", "http:// or https://"),
    ("sms_gateway", ["sms"], {"sms_gateway_url": "https://sms.example.org:port/"}, "sms_gateway_url",
     "http:// or https://"),
    ("sms_gateway", ["sms"], {"sms_gateway_url": "https://g/s", "sms_gateway_headers": "X-A: 1\nbroken"},
     "sms_gateway_headers", "Line 2 is not 'Name: value'"),
    ("sms_gateway", ["sms"], {"sms_gateway_url": "https://g/s", "sms_gateway_headers": "X-A: 1\nx-a: 2"},
     "sms_gateway_headers", "Line 2: the header x-a is given twice"),
    ("sms_gateway", ["sms"], {"sms_gateway_url": "https://g/s", "sms_gateway_headers": "Authorization: Bearer t"},
     "sms_gateway_headers", "Authorization is a credential"),
    ("sms_gateway", ["sms"], {"sms_gateway_url": "https://g/s", "sms_gateway_success_statuses": "200, ok"},
     "sms_gateway_success_statuses", "'ok' is not an HTTP status"),
    ("sms_gateway", ["sms"], {"sms_gateway_url": "https://g/s", "sms_gateway_success_statuses": "200, 700"},
     "sms_gateway_success_statuses", "'700' is not an HTTP status"),
    ("sms_gateway", ["sms"], {"sms_gateway_url": "https://g/s", "sms_gateway_body_template": '{"to": "{name}"}'},
     "sms_gateway_body_template", "unknown placeholder '{name}'"),
    ("sms_gateway", ["sms"], {"sms_gateway_url": "https://g/s", "sms_gateway_body_template": '["{to}"]'},
     "sms_gateway_body_template", "must be a JSON object"),
    ("sms_gateway", ["sms"], {"sms_gateway_url": "https://g/s", "sms_gateway_body_template": '{"to": "{to}",}'},
     "sms_gateway_body_template", "Not valid JSON: line 1"),
    ("sms_gateway", ["sms"], {"sms_gateway_url": "https://g/s", "sms_gateway_method": "GET",
                              "sms_gateway_body_template": '{"to": "{to}", "n": 1}'},
     "sms_gateway_body_template", "every value of the template must be a string"),
    ("slack", ["chat"], {"extra_settings": '{"url": "https://hooks.example.org/x"}'}, "extra_settings",
     "'url' has its own field (URL)"),
    ("slack", ["chat"], {"extra_settings": '{"allow_private_addresses": true}'}, "extra_settings",
     "'allow_private_addresses' has its own field"),
])
def test_bad_values_are_refused_under_their_field_and_nothing_is_saved(admin, kind, channels, fields, field, error):
    response = admin.post(NEW, form(kind, channels, **fields))
    assert response.status_code == 400
    assert error in field_errors(response, field)
    assert not Provider.objects.exists()


def test_the_advanced_json_adds_keys_no_field_covers(admin):
    provider = created(admin, form("smtp", ["email"], smtp_host="mail.example.org", smtp_security="tls",
                                   smtp_from_address="tocsin@example.org", smtp_verify_certificates="on",
                                   extra_settings='{"local_hostname": "tocsin.example.org"}'))
    assert provider.settings == {"host": "mail.example.org", "security": "tls", "from_address": "tocsin@example.org",
                                 "local_hostname": "tocsin.example.org"}


# --- editing shows the stored settings back -------------------------------------------


STORED_GATEWAY = {"url": "https://sms.example.org/send", "method": "GET", "content_type": "json",
                  "body_template": {"dest": "{to}", "msg": "{text}"}, "headers": {"X-Api-Version": "2"},
                  "success_statuses": [200, 202], "id_path": "id", "timeout": 12,
                  "allow_private_addresses": True, "region": "eu-west"}


def test_the_edit_page_prefills_the_kinds_fields_and_leaves_the_rest_in_the_json(admin):
    provider = services.save_provider(actor=SYSTEM, name="Gateway", kind="sms_gateway", channels=["sms"],
                                      settings=STORED_GATEWAY)
    page = unescape(admin.get(f"/notify/providers/{provider.pk}/").content.decode())
    assert re.search(r'name="sms_gateway_url"[^>]*value="https://sms.example.org/send"', page)
    assert re.search(r'<option value="GET" selected>', page)
    assert re.search(r'name="sms_gateway_headers"[^>]*>\s*X-Api-Version: 2</textarea>', page)
    assert re.search(r'name="sms_gateway_success_statuses"[^>]*value="200, 202"', page)
    assert re.search(r'name="allow_private_addresses"[^>]*checked', page)
    extra = re.search(r'name="extra_settings"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert '"region": "eu-west"' in extra and "url" not in extra and "headers" not in extra
    # Each kind's fieldset is on the page (the script shows the chosen one), and the script is there.
    assert all(f'data-kind="{kind}"' in page for kind, _ in Provider.KINDS)
    assert "notify/provider_form.js" in page and finders.find("notify/provider_form.js")


@pytest.mark.parametrize("kind, channels, stored", [
    ("sms_gateway", ["sms"], STORED_GATEWAY),
    ("smtp", ["email"], {"host": "mail.example.org", "port": 587, "security": "starttls", "timeout": 2.5,
                         "from_address": "tocsin@example.org", "verify_certificates": False, "helo": "x"}),
    ("twilio", ["sms", "voice"], {"from_number": "+14155550100", "machine_detection": "Enable",
                                  "base_url": "http://127.0.0.1:9000"}),
    ("webhook", ["webhook"], {"url": "https://siem.example.org/in", "extra": {"nested": [1, 2]}}),
])
def test_saving_the_prefilled_form_unchanged_keeps_the_settings(admin, kind, channels, stored):
    provider = services.save_provider(actor=SYSTEM, name="Kept", kind=kind, channels=channels, settings=stored)
    initial = settings_initial(kind, stored)
    data = {"name": "Kept", "kind": kind, "channels": channels, "priority": "10", "enabled": "on",
            "rate_per_minute": "0", "max_concurrent": "0"}
    for name, value in initial.items():
        if value is True:
            data[name] = "on"
        elif value not in (False, None):
            data[name] = str(value)
    assert admin.post(f"/notify/providers/{provider.pk}/", data).status_code == 302
    provider.refresh_from_db()
    # A value the provider assumes anyway (content_type json) is not stored again; a webhook's URL,
    # never shown back, is kept with the secrets.
    kept = {k: v for k, v in stored.items() if SETTING_DEFAULTS.get(k, object()) != v}
    if kind in URL_KINDS:
        assert services.stored_url(provider) == kept.pop("url") and "url" not in provider.settings
    assert provider.settings == kept


def test_a_bound_form_reads_only_the_chosen_kind():
    data = form("teams", ["chat"], teams_url="https://prod.example.org/workflows/1", smtp_host="x")
    bound = ProviderForm(data)
    assert bound.is_valid(), bound.errors
    assert bound.values()["settings"] == {}
    assert bound.secrets({}) == {"url": "https://prod.example.org/workflows/1"}


# --- what the fields say reaches the gateway ------------------------------------------


def test_a_gateway_set_up_with_the_fields_sends_as_they_say(admin):
    with WebhookReceiver() as receiver:
        receiver.respond_with(202, {"messages": [{"id": "gw-77"}]})
        provider = created(admin, form(
            "sms_gateway", ["sms"], sms_gateway_url=f"http://127.0.0.1:{receiver.port}/send",
            sms_gateway_content_type="form", sms_gateway_body_template='{"number": "{to}", "sender": "{from}"}',
            sms_gateway_from="Tocsin", sms_gateway_headers="X-Tenant: ops", sms_gateway_success_statuses="202",
            sms_gateway_id_path="messages.0.id", allow_private_addresses="on",
            secret_auth_header="X-Api-Key: k-123"))
        result = admin.post(f"/notify/providers/{provider.pk}/test/", {"channel": "sms", "to": "+14155550100"})
        [request] = receiver.wait_for(1)
    assert result.status_code == 200 and 'data-status="sent"' in result.content.decode()
    assert "gw-77" in result.content.decode()
    assert request.path == "/send" and request.form() == {"number": "+14155550100", "sender": "Tocsin"}
    assert request.headers.get("X-Tenant") == "ops" and request.headers.get("X-Api-Key") == "k-123"


@pytest.mark.parametrize("data", [{}, {"kind": "nope"}, {"kind": "twilio", "twilio_from_number": ["+1", "+2"]},
                                  form("smtp", [], smtp_port="abc", smtp_timeout="NaN")])
def test_nonsense_is_a_400_with_errors_never_a_500(admin, data):
    response = admin.post(NEW, data)
    assert response.status_code == 400 and 'class="errorlist' in response.content.decode()
    assert not Provider.objects.exists()


# --- chat and webhook URLs are credentials ---------------------------------------------

TOKEN = "tok-SECRET-1"
HOOK = f"https://hooks.example.org/services/T0/B0/{TOKEN}"
API = "/api/v1/notify/providers"
JSON = "application/json"


def text_of(response):
    return unescape(response.content.decode())


def raw_row(provider):
    """The provider's settings and secrets as the database holds them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT settings, secrets FROM notify_provider WHERE id = %s", [provider.pk])
        return " ".join(str(value) for value in cursor.fetchone())


def send_through(provider):
    """A chat message naming no destination, sent as the dispatcher sends: through the row's config."""
    message = Message(channel="chat", to="", subject="Disk full on db1", text="db1: /var at 99%",
                      data={"number": 42, "title": "Disk full on db1"}, key="k-1")
    return direct.send(build(config_of(provider)), message, 10)[0]


@pytest.mark.parametrize("kind, url, hint", [
    ("slack", HOOK, "https://hooks.example.org/…"),
    ("teams", f"https://prod.example.org:8443/workflows/1?sig={TOKEN}", "https://prod.example.org:8443/…"),
    ("webhook", f"https://ops:{TOKEN}@siem.example.org/in", "https://siem.example.org/…"),
    ("apprise", f"json://{TOKEN}.example.org/notify", "json://…"),
])
def test_a_url_is_stored_encrypted_and_the_edit_page_shows_only_a_hint(admin, kind, url, hint):
    provider = created(admin, form(kind, ["chat"], **{f"{kind}_url": url}))
    assert services.stored_url(provider) == url and "url" not in provider.settings
    assert TOKEN not in raw_row(provider)
    page = text_of(admin.get(f"/notify/providers/{provider.pk}/"))
    assert TOKEN not in page and "hooks.example.org/services" not in page
    assert f"Stored: {hint} Leave empty to keep the stored value." in page
    assert re.search(rf'type="password" name="{kind}_url"', page)
    assert TOKEN not in text_of(admin.get("/notify/providers/"))


def test_an_empty_url_field_keeps_the_url_a_new_one_replaces_it_and_forgetting_drops_it(admin):
    provider = created(admin, form("webhook", ["webhook"], webhook_url=HOOK, secret_secret="whsec-0123456789"))
    edit = f"/notify/providers/{provider.pk}/"
    assert admin.post(edit, form("webhook", ["webhook"], priority="3")).status_code == 302
    provider.refresh_from_db()
    assert provider.priority == 3 and json.loads(provider.secrets) == {"url": HOOK, "secret": "whsec-0123456789"}
    bad = admin.post(edit, form("webhook", ["webhook"], webhook_url="ftp://tok-SECRET-2/x"))
    assert bad.status_code == 400 and "http:// or https://" in field_errors(bad, "webhook_url")
    assert "tok-SECRET-2" not in text_of(bad) and TOKEN not in text_of(bad)
    new = "https://hooks.example.org/new"
    assert admin.post(edit, form("webhook", ["webhook"], webhook_url=new)).status_code == 302
    provider.refresh_from_db()
    assert json.loads(provider.secrets) == {"url": new, "secret": "whsec-0123456789"}
    assert admin.post(edit, form("webhook", ["webhook"], clear_secrets="on",
                                 secret_secret="whsec-9876543210")).status_code == 302
    provider.refresh_from_db()
    assert json.loads(provider.secrets) == {"secret": "whsec-9876543210"}
    assert "Stored:" not in text_of(admin.get(edit))


needs_apprise = pytest.mark.skipif(apprise_provider.apprise_library is None, reason="apprise is not installed")


@pytest.mark.parametrize("kind", ["slack", "teams", "webhook", pytest.param("apprise", marks=needs_apprise)])
def test_a_provider_set_up_through_the_form_posts_to_its_url(admin, webhook_receiver, kind):
    signing = {"secret_secret": "whsec-0123456789"} if kind == "webhook" else {}
    url = (f"json://127.0.0.1:{webhook_receiver.port}/hook/tok" if kind == "apprise"
           else f"{webhook_receiver.url}/hook/tok")
    provider = created(admin, form(kind, ["chat"], allow_private_addresses="on", **{f"{kind}_url": url}, **signing))
    assert provider.settings == {"allow_private_addresses": True}
    outcome = send_through(provider)
    assert outcome.status == DELIVERED, outcome.error
    [request] = webhook_receiver.wait_for(1)
    assert request.path == "/hook/tok" and "Disk full on db1" in request.body.decode()


def test_a_url_saved_in_the_settings_before_still_sends_is_never_shown_and_moves_on_save(admin, webhook_receiver):
    url = f"{webhook_receiver.url}/hook/{TOKEN}"
    provider = Provider.objects.create(name="Old", kind="slack", channels=["chat"],
                                       settings={"url": url, "allow_private_addresses": True})
    assert send_through(provider).status == DELIVERED
    assert webhook_receiver.wait_for(1)[0].path == f"/hook/{TOKEN}"
    page = text_of(admin.get(f"/notify/providers/{provider.pk}/"))
    assert TOKEN not in page and f"Stored: http://127.0.0.1:{webhook_receiver.port}/…" in page
    assert TOKEN not in text_of(admin.get(API)) and TOKEN not in text_of(admin.get("/notify/providers/"))
    assert admin.post(f"/notify/providers/{provider.pk}/",
                      form("slack", ["chat"], name="Old", priority="4", allow_private_addresses="on")).status_code == 302
    provider.refresh_from_db()
    assert provider.settings == {"allow_private_addresses": True} and json.loads(provider.secrets) == {"url": url}
    assert TOKEN not in raw_row(provider)


def test_the_api_takes_the_url_on_write_and_never_returns_it(admin):
    made = admin.post(API, {"name": "Hook", "kind": "webhook", "channels": ["webhook"], "secrets": {"secret": "s-1"},
                            "settings": {"url": HOOK, "allow_private_addresses": True}}, content_type=JSON)
    assert made.status_code == 201, made.content
    assert made.json()["settings"] == {"allow_private_addresses": True} and TOKEN not in made.content.decode()
    provider = Provider.objects.get()
    assert json.loads(provider.secrets) == {"secret": "s-1", "url": HOOK} and TOKEN not in raw_row(provider)

    def patched(**payload):
        response = admin.patch(f"{API}/{provider.pk}", payload, content_type=JSON)
        assert response.status_code == 200, response.content
        assert TOKEN not in response.content.decode()
        provider.refresh_from_db()
        return json.loads(provider.secrets) if provider.secrets else {}

    # New credentials that do not name the URL keep it; new settings do too.
    assert patched(secrets={"secret": "s-2"}) == {"secret": "s-2", "url": HOOK}
    assert patched(settings={}) == {"secret": "s-2", "url": HOOK}
    assert provider.settings == {}
    assert TOKEN not in text_of(admin.get(API))
    assert patched(secrets={"secret": "s-2", "url": "https://hooks.example.org/new"}) == {
        "secret": "s-2", "url": "https://hooks.example.org/new"}
    assert patched(settings={"url": HOOK}) == {"secret": "s-2", "url": HOOK} and provider.settings == {}
    assert patched(secrets={"secret": "s-3", "url": ""}) == {"secret": "s-3"}


@pytest.mark.parametrize("kind, payload, error", [
    ("slack", {"settings": {"url": f"ftp://{TOKEN}/x"}}, "http:// or https://"),
    ("teams", {"secrets": {"url": f"hooks.example.org/{TOKEN}"}}, "http:// or https://"),
    ("webhook", {"secrets": {"url": f"https://hooks.example.org/{TOKEN}:x y"}}, "no spaces"),
    ("slack", {"secrets": {"url": ["https://hooks.example.org/", TOKEN]}}, "is a string"),
    ("slack", {"settings": {"url": HOOK}, "secrets": {"url": HOOK}}, "Give the URL once"),
    pytest.param("apprise", {"secrets": {"url": f"nosuchscheme://{TOKEN}"}}, "Apprise cannot use",
                 marks=needs_apprise),
    ("apprise", {"settings": {"url": TOKEN}}, "Give an Apprise URL"),
])
def test_the_api_refuses_a_bad_url_by_name_without_quoting_it(admin, kind, payload, error):
    response = admin.post(API, {"name": "Hook", "kind": kind, "channels": ["chat"], **payload}, content_type=JSON)
    assert response.status_code == 400 and error in response.json()["errors"]["url"][0]
    assert TOKEN not in response.content.decode() and not Provider.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_stored_urls_into_the_encrypted_secrets_and_back():
    before, after = [("notify", "0001_initial")], [("notify", "0002_provider_url_secret")]
    rows = {
        "slack": ("slack", {"url": HOOK, "allow_private_addresses": True}, ""),
        "hook": ("webhook", {"url": "https://siem.example.org/in"}, json.dumps({"secret": "s-1"})),
        "gateway": ("sms_gateway", {"url": "https://sms.example.org/send"}, ""),
        "teams": ("teams", {}, ""),
    }
    try:
        old = migrate_to(before)
        for name, (kind, settings, secrets) in rows.items():
            old.get_model("notify", "Provider").objects.create(name=name, kind=kind, channels=["chat"],
                                                               settings=settings, secrets=secrets)
        new = migrate_to(after).get_model("notify", "Provider")
        moved = {p.name: (p.settings, json.loads(p.secrets) if p.secrets else {}) for p in new.objects.all()}
        assert moved == {
            "slack": ({"allow_private_addresses": True}, {"url": HOOK}),
            "hook": ({}, {"secret": "s-1", "url": "https://siem.example.org/in"}),
            "gateway": ({"url": "https://sms.example.org/send"}, {}),  # a gateway's URL is no credential
            "teams": ({}, {}),
        }
        with connection.cursor() as cursor:
            cursor.execute("SELECT settings, secrets FROM notify_provider")
            assert TOKEN not in str(cursor.fetchall())
        back = migrate_to(before).get_model("notify", "Provider")
        assert {p.name: (p.kind, p.settings, p.secrets) for p in back.objects.all()} == {
            name: row for name, row in rows.items()}
    finally:
        migrate_to_latest()
