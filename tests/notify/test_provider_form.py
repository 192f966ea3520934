"""The provider form's per-kind settings fields: each kind's fields become its settings (and only
the chosen kind's count), required ones and bad values are refused under their field, the advanced
JSON adds other keys, an edit page shows the stored settings back in the fields, and a gateway set
up through the form sends what the fields say to a real local receiver."""

import re
from html import unescape

import pytest
from django.contrib.staticfiles import finders

from tocsin.core import audit
from tocsin.notify import services
from tocsin.notify.forms_settings import SETTING_DEFAULTS, ProviderForm, settings_initial
from tocsin.notify.models import Provider

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
    assert provider.settings == {"url": "https://hooks.example.org/T0/B0"}
    response = admin.post(NEW, form(kind, ["chat"], name="second", **{f"{kind}_url": "ftp://hooks.example.org/x"}))
    assert response.status_code == 400 and "http:// or https://" in field_errors(response, f"{kind}_url")


def test_apprise_takes_an_apprise_url_and_never_echoes_a_bad_one(admin):
    provider = created(admin, form("apprise", ["chat"], apprise_url="json://hooks.example.org/notify"))
    assert provider.settings == {"url": "json://hooks.example.org/notify"}
    response = admin.post(NEW, form("apprise", ["chat"], name="bad", apprise_url="nosuchscheme://secretTOKEN"))
    assert response.status_code == 400 and "Apprise cannot use" in field_errors(response, "apprise_url")
    assert "secretTOKEN" not in unescape(response.content.decode()).replace('value="nosuchscheme://secretTOKEN"', "")


def test_other_kinds_fields_are_ignored_whatever_they_hold(admin):
    provider = created(admin, form("slack", ["chat"], slack_url="https://hooks.example.org/x",
                                   smtp_host="", smtp_port="not a port", sms_gateway_url="nonsense",
                                   sms_gateway_headers="no colon here", twilio_from_number="??",
                                   twilio_timeout="abc", sms_gateway_body_template="{"))
    assert provider.settings == {"url": "https://hooks.example.org/x"}


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
    # A value the provider assumes anyway (content_type json) is not stored again.
    assert provider.settings == {k: v for k, v in stored.items() if SETTING_DEFAULTS.get(k, object()) != v}


def test_a_bound_form_reads_only_the_chosen_kind():
    data = form("teams", ["chat"], teams_url="https://prod.example.org/workflows/1", smtp_host="x")
    bound = ProviderForm(data)
    assert bound.is_valid(), bound.errors
    assert bound.values()["settings"] == {"url": "https://prod.example.org/workflows/1"}


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
