"""Notification providers (F1) against real local servers: aiosmtpd, a Twilio-speaking HTTP stub,
and a webhook receiver. Failures are injected through the servers, not by mocking the providers."""

import asyncio
import json
import re
import ssl
import xml.etree.ElementTree as ElementTree

import httpx
import pytest
from twilio.request_validator import RequestValidator

from tocsin.core import signing
from tocsin.notify import providers
from tocsin.notify.providers import apprise as apprise_provider
from tocsin.notify.providers import email as email_provider
from tocsin.notify.providers.base import DELIVERED, FAILED, SENT, Config, Message, build
from tocsin.notify.providers.email import from_url
from tocsin.notify.providers.twilio import from_environment, twiml_for_call

from .servers import SmtpSink, free_port, self_signed_certificate

providers.load()

NUMBER = "+15005550006"
KEY = "3f0c8f4e-8c5e-4c57-9a55-0d6a1b1f4e21"


def send(config, message):
    async def go():
        async with httpx.AsyncClient() as client:
            return await build(config).send(message, client)
    return asyncio.run(go())


def check(config):
    async def go():
        async with httpx.AsyncClient() as client:
            return await build(config).check(client)
    return asyncio.run(go())


def incident_message(**overrides):
    fields = dict(channel="chat", to="", subject="Disk full on db1", text="db1: /var at 99%",
                  data={"number": 42, "title": "Disk full on db1", "service": "Billing", "urgency": "high",
                        "status": "triggered", "incident_id": 1234}, key=KEY)
    fields.update(overrides)
    return Message(**fields)


def test_every_kind_is_registered_and_unknown_kinds_are_named():
    for kind, channels in [("smtp", ("email",)), ("twilio", ("sms", "voice")), ("sms_gateway", ("sms",)),
                           ("slack", ("chat",)), ("teams", ("chat",)), ("webhook", ("webhook", "chat")),
                           ("apprise", ("chat",))]:
        provider = build(Config(name=kind, kind=kind))
        assert provider.kind == kind and provider.channels == channels
    with pytest.raises(LookupError, match="pigeon"):
        build(Config(name="p", kind="pigeon"))


# --- e-mail --------------------------------------------------------------------------------------

def smtp_config(sink, **settings):
    return Config(name="mail", kind="smtp", settings={"host": "127.0.0.1", "port": sink.port,
                                                      "from_address": "alerts@example.org", **settings})


def mail(**overrides):
    fields = dict(channel="email", to="ana@example.org", subject="[Tocsin] #42 Disk full",
                  text="Disk full on db1.\nAcknowledge: https://tocsin.example.org/ack/abc",
                  html="<p>Disk full on <b>db1</b>.</p>", key=KEY)
    fields.update(overrides)
    return Message(**fields)


def test_email_is_multipart_alternative_with_a_message_id_from_the_key(smtp_sink):
    outcome = send(smtp_config(smtp_sink), mail())
    assert outcome.status == DELIVERED, outcome.error
    [received] = smtp_sink.wait_for(1)
    assert received.get_content_type() == "multipart/alternative"
    assert received["Message-ID"] == f"<{KEY}@example.org>" == outcome.provider_message_id
    assert received["Auto-Submitted"] == "auto-generated"
    assert received["From"] == "alerts@example.org" and received["To"] == "ana@example.org"
    assert received["Subject"] == "[Tocsin] #42 Disk full"
    text = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    assert "Acknowledge: https://tocsin.example.org/ack/abc" in text
    assert "<b>db1</b>" in html
    assert smtp_sink.envelopes[0].rcpt_tos == ["ana@example.org"]

    # A re-send after a crash carries the same Message-ID; another message does not.
    send(smtp_config(smtp_sink), mail())
    send(smtp_config(smtp_sink), mail(key="another-key"))
    first, again, other = smtp_sink.wait_for(3)
    assert again["Message-ID"] == first["Message-ID"] != other["Message-ID"]


def test_email_carries_any_text_intact_and_a_reply_address(smtp_sink):
    body = "Plattenplatz erschöpft auf db1 — 警告\n.\n.a line that starts with a dot\n" + "long line " * 30
    config = smtp_config(smtp_sink, from_address="Tocsin Störungsdienst <alerts@example.org>")
    outcome = send(config, mail(subject="[Tocsin] #42 Plattenplatz erschöpft " + "x" * 90, text=body,
                                html="<p>Plattenplatz <b>erschöpft</b></p>",
                                data={"reply_to": "ack+tok3n@replies.example.org"}))
    assert outcome.status == DELIVERED, outcome.error
    [received] = smtp_sink.wait_for(1)
    assert received["Subject"] == "[Tocsin] #42 Plattenplatz erschöpft " + "x" * 90
    assert received["From"].addresses[0].display_name == "Tocsin Störungsdienst"
    assert received["Reply-To"] == "ack+tok3n@replies.example.org"
    assert received.get_body(("plain",)).get_content().replace("\r\n", "\n").rstrip("\n") == body
    assert received.get_body(("html",)).get_content().strip() == "<p>Plattenplatz <b>erschöpft</b></p>"
    assert smtp_sink.envelopes[0].mail_from == "alerts@example.org"
    assert outcome.provider_message_id == f"<{KEY}@example.org>" == received["Message-ID"]
    assert all(len(line) <= 78 for line in received.as_bytes().split(b"\n"))
    assert not received.defects and not any(part.defects for part in received.walk())


def test_email_to_an_international_domain_goes_out_in_its_ascii_form(smtp_sink):
    outcome = send(smtp_config(smtp_sink), mail(to="carol@bücher.example"))
    assert outcome.status == DELIVERED, outcome.error
    [received] = smtp_sink.wait_for(1)
    assert smtp_sink.envelopes[0].rcpt_tos == ["carol@xn--bcher-kva.example"] and received["To"] == \
        "carol@xn--bcher-kva.example"
    refused = send(smtp_config(smtp_sink), mail(to="zoë@example.org"))
    assert (refused.status, refused.transient) == (FAILED, False) and "SMTPUTF8" in refused.error


def test_a_reply_address_is_given_out_only_where_replies_can_arrive(settings):
    from tocsin.notify import tokens

    settings.TOCSIN_INBOUND_MAIL_DOMAIN = ""
    for base_url, reachable in (("http://127.0.0.1:8000", False), ("http://[::1]:8000", False),
                                ("http://localhost:8000", False), ("https://tocsin.example.org", True)):
        settings.BASE_URL = base_url
        assert tokens.replies_reach_us() is reachable, base_url
    settings.BASE_URL, settings.TOCSIN_INBOUND_MAIL_DOMAIN = "http://127.0.0.1:8000", "replies.example.org"
    assert tokens.replies_reach_us() and tokens.reply_address("t0k3n") == "ack+t0k3n@replies.example.org"


def test_email_reuses_its_connection_and_replaces_one_the_server_closed(smtp_sink):
    peers = []
    take = smtp_sink.handle_DATA

    async def handle_DATA(server, session, envelope):
        peers.append(session.peer)  # the client's address and port: one per connection
        return await take(server, session, envelope)

    smtp_sink.handle_DATA = handle_DATA

    async def three_then_a_dropped_connection():
        provider = build(smtp_config(smtp_sink))
        async with httpx.AsyncClient() as client:
            outcomes = [await provider.send(mail(key=f"m{n}"), client) for n in range(3)]
            for kept, _ in email_provider._idle[(asyncio.get_running_loop(), provider._relay())]:
                kept.close()  # as a server does with a connection idle too long
            outcomes.append(await provider.send(mail(key="m3"), client))
            return outcomes

    outcomes = asyncio.run(three_then_a_dropped_connection())
    assert [o.status for o in outcomes] == [DELIVERED] * 4, [o.error for o in outcomes]
    assert len(smtp_sink.wait_for(4)) == 4
    assert len(set(peers[:3])) == 1 and peers[3] != peers[0]  # three on one connection, then a new one


def test_email_subject_line_breaks_are_folded_and_bad_destinations_refused(smtp_sink):
    assert send(smtp_config(smtp_sink), mail(subject="Disk full\r\non db1")).status == DELIVERED
    assert smtp_sink.wait_for(1)[0]["Subject"] == "Disk full on db1"
    injected = send(smtp_config(smtp_sink), mail(to="ana@example.org\r\nBcc: eve@example.org"))
    assert (injected.status, injected.transient) == (FAILED, False)
    assert send(smtp_config(smtp_sink), mail(to="not-an-address")).error == "the destination is not an e-mail address"
    assert len(smtp_sink.messages) == 1


def test_email_logs_in_when_the_server_requires_it():
    with SmtpSink(users={"alerts": "s3cret pass"}) as sink:
        config = smtp_config(sink)
        good = Config(config.name, config.kind, config.settings, {"username": "alerts", "password": "s3cret pass"})
        bad = Config(config.name, config.kind, config.settings, {"username": "alerts", "password": "wrong"})
        assert send(good, mail()).status == DELIVERED
        assert sink.logins == ["alerts"]
        refused = send(bad, mail())
        assert refused.status == FAILED and not refused.transient
        assert "authentication failed" in refused.error and "wrong" not in refused.error
        anonymous = send(config, mail())  # 530: authentication required
        assert anonymous.status == FAILED and not anonymous.transient
        assert len(sink.messages) == 1
        assert check(good) == ""
        assert "authentication failed" in check(bad)


def test_email_starttls_with_a_verified_certificate(tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with SmtpSink(tls_context=context) as sink:
        secured = smtp_config(sink, security="starttls", ca_file=cert)
        assert send(secured, mail()).status == DELIVERED
        assert len(sink.wait_for(1)) == 1
        plain = send(smtp_config(sink, security="none"), mail())  # the server insists on STARTTLS
        assert plain.status == FAILED and not plain.transient
        unverified = send(smtp_config(sink, security="starttls"), mail())  # not trusted without ca_file
        assert unverified.status == FAILED
        assert len(sink.messages) == 1


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
def test_email_4xx_is_transient_and_5xx_is_hard(smtp_sink, stage):
    smtp_sink.fail_next(451, "Greylisted, try later", stage=stage)
    outcome = send(smtp_config(smtp_sink), mail())
    assert (outcome.status, outcome.transient) == (FAILED, True)
    assert "451" in outcome.error
    smtp_sink.fail_next(550, "5.1.1 <ana@example.org>: no such user", stage=stage)
    outcome = send(smtp_config(smtp_sink), mail())
    assert (outcome.status, outcome.transient) == (FAILED, False)
    assert "550" in outcome.error and "ana@" not in outcome.error  # the destination stays out of the error
    assert smtp_sink.messages == []
    assert send(smtp_config(smtp_sink), mail()).status == DELIVERED


def test_email_connection_failure_is_transient_and_check_says_so(smtp_sink):
    closed = Config("mail", "smtp", {"host": "127.0.0.1", "port": free_port(), "from_address": "a@example.org",
                                     "timeout": 2})
    outcome = send(closed, mail())
    assert (outcome.status, outcome.transient) == (FAILED, True)
    assert "connection failed" in outcome.error
    assert check(closed).startswith("SMTP connection failed")
    assert check(smtp_config(smtp_sink)) == ""


def test_email_refuses_incomplete_settings_by_name():
    assert "settings.from_address" in send(Config("m", "smtp", {"host": "127.0.0.1"}), mail()).error
    assert "settings.security" in check(Config("m", "smtp", {"host": "h", "from_address": "a@b.c",
                                                              "security": "ssl"}))


@pytest.mark.parametrize("url, expected_settings, expected_secrets", [
    ("smtp://mail.example.org?from=alerts@example.org",
     {"host": "mail.example.org", "port": 25, "security": "none", "from_address": "alerts@example.org"}, {}),
    ("smtp+starttls://ann%40corp:p%3Ass@mail.example.org:2587?from=alerts@example.org",
     {"host": "mail.example.org", "port": 2587, "security": "starttls", "from_address": "alerts@example.org"},
     {"username": "ann@corp", "password": "p:ss"}),
    ("smtps://u:p@mail.example.org?from=alerts@example.org&timeout=3",
     {"host": "mail.example.org", "port": 465, "security": "tls", "from_address": "alerts@example.org",
      "timeout": 3.0}, {"username": "u", "password": "p"}),
])
def test_smtp_url_parsing(url, expected_settings, expected_secrets):
    config = from_url(url)
    assert (config.kind, config.settings, config.secrets) == ("smtp", expected_settings, expected_secrets)


@pytest.mark.parametrize("url, named", [
    ("http://mail.example.org?from=a@example.org", "unknown scheme 'http'"),
    ("smtp://?from=a@example.org", "host is missing"),
    ("smtp://mail.example.org", "sender is missing"),
    ("smtp://mail.example.org?from=nobody", "'from' is not an e-mail address"),
    ("smtp://mail.example.org:99999?from=a@example.org", "TOCSIN_SMTP_URL: Port out of range"),
    ("smtp://mail.example.org:abc?from=a@example.org", "TOCSIN_SMTP_URL: Port could not be cast"),
    ("smtp://mail.example.org?from=a@example.org&tls=yes", "unknown parameter 'tls'"),
    ("smtp://mail.example.org?from=a@example.org&timeout=soon", "'timeout' is not a number"),
])
def test_smtp_url_errors_name_the_problem(url, named):
    with pytest.raises(ValueError, match=re.escape(named)):
        from_url(url)


# --- Twilio --------------------------------------------------------------------------------------

def twilio_config(stub, **settings):
    return Config(name="twilio", kind="twilio",
                  settings={"base_url": stub.url, "from_number": "+15005550001", **settings},
                  secrets={"account_sid": stub.account_sid, "auth_token": stub.auth_token})


def sms(**overrides):
    fields = dict(channel="sms", to=NUMBER, subject="", text='#42 Disk full on db1. Reply "ack 42"', key=KEY)
    fields.update(overrides)
    return Message(**fields)


def test_twilio_sms_is_sent_with_the_idempotency_key_and_reports_its_status(twilio_stub, webhook_receiver):
    callback = f"{webhook_receiver.url}/notify/twilio/status"
    twilio_stub.script(NUMBER, ["queued", "sent", "delivered"])
    outcome = send(twilio_config(twilio_stub), sms(status_callback=callback))
    assert outcome.status == SENT, outcome.error
    assert re.fullmatch(r"SM[0-9a-f]{32}", outcome.provider_message_id)
    [sent] = twilio_stub.wait_for(1)
    assert sent["sid"] == outcome.provider_message_id
    assert sent["idempotency_token"] == KEY
    assert (sent["To"], sent["From"], sent["Body"]) == (NUMBER, "+15005550001", '#42 Disk full on db1. Reply "ack 42"')
    assert sent["StatusCallback"] == callback

    posted = webhook_receiver.wait_for(3)
    validator = RequestValidator(twilio_stub.auth_token)
    assert [r.form()["MessageStatus"] for r in posted] == ["queued", "sent", "delivered"]
    for request in posted:
        form = request.form()
        assert form["MessageSid"] == outcome.provider_message_id and form["AccountSid"] == twilio_stub.account_sid
        assert validator.validate(callback, form, request.headers["X-Twilio-Signature"])
        assert not validator.validate(callback, {**form, "MessageStatus": "read"}, request.headers["X-Twilio-Signature"])


def test_twilio_sms_through_a_messaging_service_and_without_callback(twilio_stub):
    outcome = send(twilio_config(twilio_stub, from_number="", messaging_service_sid="MG" + "0" * 32), sms(key=""))
    assert outcome.status == SENT
    [sent] = twilio_stub.wait_for(1)
    assert sent["MessagingServiceSid"] == "MG" + "0" * 32 and "From" not in sent and "StatusCallback" not in sent
    assert sent["idempotency_token"] == ""
    twilio_stub.settle()
    assert twilio_stub.callbacks == []


def test_twilio_voice_call_fetches_twiml_and_takes_a_keypress(twilio_stub, webhook_receiver):
    gather = f"{webhook_receiver.url}/notify/twilio/gather"
    webhook_receiver.respond_with(200, twiml_for_call("Incident 42, disk full on db1.", gather), path="/twiml",
                                  content_type="text/xml")
    twilio_stub.press(NUMBER, "1")
    twilio_stub.script(NUMBER, ["completed"])
    callback = f"{webhook_receiver.url}/notify/twilio/status"
    message = sms(channel="voice", voice_url=f"{webhook_receiver.url}/twiml", status_callback=callback)
    outcome = send(twilio_config(twilio_stub, machine_detection="Enable"), message)
    assert outcome.status == SENT, outcome.error
    assert re.fullmatch(r"CA[0-9a-f]{32}", outcome.provider_message_id)
    twilio_stub.settle()
    [call] = twilio_stub.calls
    assert (call["Url"], call["StatusCallback"], call["StatusCallbackEvent"]) == (message.voice_url, callback, "completed")
    assert call["MachineDetection"] == "Enable" and call["idempotency_token"] == KEY and "Body" not in call

    root = ElementTree.fromstring(call["twiml"])
    node = root.find("Gather")
    assert (node.get("numDigits"), node.get("action")) == ("1", gather)
    says = [say.text for say in node.findall("Say")]
    assert says.count("Incident 42, disk full on db1.") == 2
    assert "Press 1 to acknowledge, 2 to escalate." in says[-1]

    paths = [r.path for r in webhook_receiver.wait_for(3)]
    assert paths == ["/twiml", "/notify/twilio/gather", "/notify/twilio/status"]
    pressed = webhook_receiver.requests[1]
    assert pressed.form()["Digits"] == "1"
    assert RequestValidator(twilio_stub.auth_token).validate(gather, pressed.form(),
                                                             pressed.headers["X-Twilio-Signature"])
    assert webhook_receiver.requests[2].form()["CallStatus"] == "completed"


def test_twiml_without_a_keypress_ends_with_words_that_acknowledge_nothing():
    root = ElementTree.fromstring(twiml_for_call("Text with <tags> & \"quotes\"", "https://t.example/g?a=1&b=2"))
    assert [child.tag for child in root] == ["Gather", "Say"]
    assert root.find("Gather").get("action") == "https://t.example/g?a=1&b=2"
    assert root.find("Gather/Say").text == "Text with <tags> & \"quotes\""
    assert "not acknowledged" in root.find("Say").text


def test_twilio_voice_needs_a_caller_number_and_twiml(twilio_stub):
    outcome = send(twilio_config(twilio_stub, from_number="", messaging_service_sid="MG1"),
                   sms(channel="voice", voice_url="https://x.example/t"))
    assert outcome.status == FAILED and "settings.from_number" in outcome.error
    assert "voice_url" in send(twilio_config(twilio_stub), sms(channel="voice")).error
    assert twilio_stub.requests == []


def test_twilio_503_and_429_are_transient_and_400s_hard(twilio_stub):
    config = twilio_config(twilio_stub)
    twilio_stub.fail_next(status=503)
    outcome = send(config, sms())
    assert (outcome.status, outcome.transient) == (FAILED, True) and "HTTP 503" in outcome.error
    twilio_stub.fail_next(status=429)
    assert send(config, sms()).transient is True
    twilio_stub.fail_next(status=400, code=21614, message=f"'To' number {NUMBER} is not a valid mobile number")
    outcome = send(config, sms())
    assert (outcome.status, outcome.transient) == (FAILED, False)
    assert "Twilio 21614" in outcome.error and NUMBER not in outcome.error
    # The stub's own validation: Twilio's 21211, with the number kept out of the error text.
    outcome = send(config, sms(to="0044 20 7946 0958"))
    assert (outcome.status, outcome.transient) == (FAILED, False)
    assert "Twilio 21211" in outcome.error and "7946" not in outcome.error
    assert twilio_stub.messages == []


def test_twilio_timeout_is_transient(twilio_stub):
    twilio_stub.hang_next(2.0)
    outcome = send(twilio_config(twilio_stub, timeout=0.3), sms())
    assert (outcome.status, outcome.transient) == (FAILED, True)
    assert "in time" in outcome.error


def test_twilio_bad_credentials_are_a_hard_failure(twilio_stub):
    config = twilio_config(twilio_stub)
    wrong = Config(config.name, config.kind, config.settings,
                   {"account_sid": twilio_stub.account_sid, "auth_token": "0" * 32})
    outcome = send(wrong, sms())
    assert (outcome.status, outcome.transient) == (FAILED, False) and "20003" in outcome.error
    assert "0" * 32 not in outcome.error
    assert "secrets.account_sid" in send(Config("t", "twilio", config.settings), sms()).error


def test_twilio_check(twilio_stub):
    config = twilio_config(twilio_stub)
    assert check(config) == ""
    twilio_stub.health(False)
    assert "HTTP 503" in check(config)
    twilio_stub.health(True)
    wrong = Config(config.name, config.kind, config.settings, {"account_sid": twilio_stub.account_sid,
                                                               "auth_token": "nope"})
    assert "HTTP 401" in check(wrong)
    assert check(Config("t", "twilio", {"base_url": f"http://127.0.0.1:{free_port()}"},
                        {"account_sid": "AC1", "auth_token": "t"})).startswith("Twilio unreachable")


def test_twilio_from_environment(monkeypatch, twilio_stub):
    for name in ("TOCSIN_TWILIO_ACCOUNT_SID", "TOCSIN_TWILIO_AUTH_TOKEN", "TOCSIN_TWILIO_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert from_environment() is None
    monkeypatch.setenv("TOCSIN_TWILIO_ACCOUNT_SID", twilio_stub.account_sid)
    assert from_environment() is None  # a sid without its token is not a configuration
    monkeypatch.setenv("TOCSIN_TWILIO_AUTH_TOKEN", twilio_stub.auth_token)
    monkeypatch.setenv("TOCSIN_TWILIO_BASE_URL", twilio_stub.url)
    config = from_environment(from_number="+15005550001")
    assert config.secrets == {"account_sid": twilio_stub.account_sid, "auth_token": twilio_stub.auth_token}
    assert send(config, sms()).status == SENT


# --- generic SMS gateway -------------------------------------------------------------------------

def gateway(receiver, **settings):
    secrets = settings.pop("secrets", {})
    return Config(name="gw", kind="sms_gateway", settings={"url": f"{receiver.url}/send", **settings},
                  secrets=secrets)


TRICKY = 'He said "ack" {to} {text} \\ {0} %s {key.__class__}\n</x>'


def test_gateway_json_template_keeps_values_literal(webhook_receiver):
    webhook_receiver.respond_with(200, {"result": {"messages": [{"id": "gw-77"}]}})
    config = gateway(webhook_receiver, body_template={
        "recipient": "{to}", "message": {"body": "Tocsin: {text}", "ref": "{key}"}, "sender": "{from}",
        "flags": ["{to}", 1, True]}, **{"from": "TOCSIN"}, id_path="result.messages.0.id",
        secrets={"auth_header": "Authorization: Bearer tok-123"})
    outcome = send(config, sms(text=TRICKY))
    assert (outcome.status, outcome.provider_message_id) == (SENT, "gw-77")
    [request] = webhook_receiver.wait_for(1)
    assert request.method == "POST" and request.path == "/send"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == "Bearer tok-123"
    assert request.json() == {"recipient": NUMBER, "message": {"body": f"Tocsin: {TRICKY}", "ref": KEY},
                              "sender": "TOCSIN", "flags": [NUMBER, 1, True]}


def test_gateway_form_and_get_templates(webhook_receiver):
    form = gateway(webhook_receiver, content_type="form", body_template={"dst": "{to}", "msg": "{text}"},
                   headers={"X-Api-Version": "2"}, secrets={"username": "gw", "password": "pw"})
    assert send(form, sms(text=TRICKY)).status == SENT
    get = gateway(webhook_receiver, method="GET", body_template={"to": "{to}", "text": "{text}"})
    assert send(get, sms(text="a&b=c")).status == SENT
    posted, fetched = webhook_receiver.wait_for(2)
    assert posted.form() == {"dst": NUMBER, "msg": TRICKY}
    assert posted.headers["X-Api-Version"] == "2" and posted.headers["Authorization"].startswith("Basic ")
    assert fetched.method == "GET" and fetched.query == {"to": [NUMBER], "text": ["a&b=c"]}


def test_gateway_refuses_unknown_placeholders_by_name(webhook_receiver):
    config = gateway(webhook_receiver, body_template={"to": "{to.__class__}", "text": "{text}"})
    outcome = send(config, sms())
    assert outcome.status == FAILED and not outcome.transient
    assert "unknown placeholder '{to.__class__}'" in outcome.error
    assert "settings.body_template" in check(config)
    assert "settings.method" in check(gateway(webhook_receiver, method="PUT"))
    assert "settings.url" in check(Config("gw", "sms_gateway", {"url": "ftp://x"}))
    assert check(gateway(webhook_receiver)) == ""
    assert webhook_receiver.requests == []


def test_gateway_statuses(webhook_receiver):
    webhook_receiver.respond_with(500, "upstream down")
    assert send(gateway(webhook_receiver), sms()).transient is True
    webhook_receiver.respond_with(400, f"invalid number {NUMBER}")
    outcome = send(gateway(webhook_receiver), sms())
    assert (outcome.status, outcome.transient) == (FAILED, False) and NUMBER not in outcome.error
    webhook_receiver.respond_with(200, "queued")
    assert send(gateway(webhook_receiver, success_statuses=[202]), sms()).status == FAILED
    webhook_receiver.respond_with(202, "not json")
    outcome = send(gateway(webhook_receiver, success_statuses=[202], id_path="id"), sms())
    assert (outcome.status, outcome.provider_message_id) == (SENT, "")


# --- Slack and Teams -----------------------------------------------------------------------------

LINKS = {"ack_url": "https://tocsin.example.org/ack/a1", "resolve_url": "https://tocsin.example.org/ack/r1",
         "incident_url": "https://tocsin.example.org/incidents/1234"}


def test_slack_block_kit_with_link_buttons(webhook_receiver, private_webhooks):
    message = incident_message(to=f"{webhook_receiver.url}/services/T1/B1/xyz", text="<!channel> db1 & db2")
    message.data.update(LINKS)
    outcome = send(Config("slack", "slack"), message)
    assert outcome.status == DELIVERED, outcome.error
    body = webhook_receiver.wait_for(1)[0].json()
    assert body["text"] == "#42 Disk full on db1"
    header, text, facts, actions = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "#42 Disk full on db1", "emoji": True}}
    assert text["text"]["text"] == "&lt;!channel&gt; db1 &amp; db2"
    assert [f["text"] for f in facts["fields"]] == ["*Service*\nBilling", "*Urgency*\nhigh", "*Status*\ntriggered"]
    assert [(b["text"]["text"], b["url"]) for b in actions["elements"]] == [
        ("Acknowledge", LINKS["ack_url"]), ("Resolve", LINKS["resolve_url"]), ("Open incident", LINKS["incident_url"])]
    assert len({b["action_id"] for b in actions["elements"]}) == 3  # Slack wants them unique


def test_slack_interactive_buttons_carry_the_incident_id(webhook_receiver, private_webhooks):
    message = incident_message(data={**incident_message().data, **LINKS, "interactive": True})
    outcome = send(Config("slack", "slack", secrets={"url": f"{webhook_receiver.url}/hook"}), message)
    assert outcome.status == DELIVERED
    elements = webhook_receiver.wait_for(1)[0].json()["blocks"][-1]["elements"]
    assert [(b["action_id"], b.get("value"), b.get("url")) for b in elements] == [
        ("tocsin_ack", "1234", None), ("tocsin_resolve", "1234", None),
        ("tocsin_link_incident", None, LINKS["incident_url"])]


@pytest.mark.parametrize("status, body, transient", [
    (404, "no_service", False), (400, "invalid_blocks", False), (429, "rate_limited", True),
    (500, "oops", True), (200, "not ok", False)])
def test_slack_anything_but_ok_is_a_failure(webhook_receiver, private_webhooks, status, body, transient):
    webhook_receiver.respond_with(status, body)
    outcome = send(Config("slack", "slack"), incident_message(to=f"{webhook_receiver.url}/hook/secret-token"))
    assert (outcome.status, outcome.transient) == (FAILED, transient)
    assert body in outcome.error and "secret-token" not in outcome.error


def test_teams_adaptive_card(webhook_receiver, private_webhooks):
    webhook_receiver.respond_with(202, "")
    message = incident_message(to=f"{webhook_receiver.url}/workflows/abc")
    message.data.update(LINKS)
    assert send(Config("teams", "teams"), message).status == DELIVERED
    body = webhook_receiver.wait_for(1)[0].json()
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    title, text, facts = card["body"]
    assert (title["type"], title["text"], text["text"]) == ("TextBlock", "#42 Disk full on db1", "db1: /var at 99%")
    assert facts == {"type": "FactSet", "facts": [{"title": "Service", "value": "Billing"},
                                                  {"title": "Urgency", "value": "high"},
                                                  {"title": "Status", "value": "triggered"}]}
    assert [(a["type"], a["url"]) for a in card["actions"]] == [
        ("Action.OpenUrl", LINKS["ack_url"]), ("Action.OpenUrl", LINKS["resolve_url"]),
        ("Action.OpenUrl", LINKS["incident_url"])]


def test_teams_failures(webhook_receiver, private_webhooks):
    webhook_receiver.respond_with(400, "bad card")
    outcome = send(Config("teams", "teams"), incident_message(to=webhook_receiver.url + "/w"))
    assert (outcome.status, outcome.transient) == (FAILED, False)
    webhook_receiver.respond_with(502, "")
    assert send(Config("teams", "teams"), incident_message(to=webhook_receiver.url + "/w")).transient is True


# --- signed webhooks -----------------------------------------------------------------------------

def webhook(secret="whsec-1", **settings):
    return Config("hook", "webhook", settings, {"secret": secret} if secret else {})


def test_webhook_body_is_signed_verifiably(webhook_receiver, private_webhooks):
    message = incident_message(channel="webhook", to=f"{webhook_receiver.url}/in", data={"event": "triggered",
                                                                                          "number": 42})
    outcome = send(webhook(), message)
    assert outcome.status == DELIVERED, outcome.error
    [request] = webhook_receiver.wait_for(1)
    timestamp = request.headers["X-Tocsin-Timestamp"]
    version, _, signature = request.headers["X-Tocsin-Signature"].partition("=")
    assert version == "v1"
    assert signing.verify(b"whsec-1", timestamp, request.body, signature)
    assert not signing.verify(b"whsec-2", timestamp, request.body, signature)
    assert not signing.verify(b"whsec-1", timestamp, request.body.replace(b"42", b"43"), signature)
    assert request.headers["Idempotency-Key"] == KEY
    body = request.json()
    assert body["event"] == "triggered" and body["id"] == KEY and body["data"] == {"event": "triggered", "number": 42}
    assert body["message"] == {"subject": "Disk full on db1", "text": "db1: /var at 99%"}
    assert body["sent_at"].endswith("+00:00")


def test_webhook_failures(webhook_receiver, private_webhooks):
    assert "secrets.secret" in send(webhook(secret=""), incident_message(to=webhook_receiver.url)).error
    webhook_receiver.respond_with(503, "busy")
    assert send(webhook(), incident_message(to=webhook_receiver.url)).transient is True
    webhook_receiver.respond_with(410, "gone")
    outcome = send(webhook(), incident_message(to=webhook_receiver.url))
    assert (outcome.status, outcome.transient) == (FAILED, False)
    unreachable = send(webhook(), incident_message(to=f"http://127.0.0.1:{free_port()}/"))
    assert (unreachable.status, unreachable.transient) == (FAILED, True)


@pytest.mark.parametrize("kind", ["webhook", "slack", "teams"])
def test_private_targets_are_refused_unless_allowed(webhook_receiver, monkeypatch, settings, kind):
    monkeypatch.delenv("TOCSIN_WEBHOOKS_TO_PRIVATE_ADDRESSES", raising=False)
    settings.TOCSIN_WEBHOOKS_TO_PRIVATE_ADDRESSES = False
    config = webhook() if kind == "webhook" else Config(kind, kind)
    for target in (webhook_receiver.url, "http://localhost:9/", "http://169.254.169.254/latest/meta-data/",
                   "http://10.1.2.3/"):
        outcome = send(config, incident_message(to=target))
        assert (outcome.status, outcome.transient) == (FAILED, False)
        assert "not a public address" in outcome.error and "169.254" not in outcome.error
    assert "not an http(s) URL" in send(config, incident_message(to="file:///etc/passwd")).error
    assert webhook_receiver.requests == []
    allowed = Config(config.name, kind, {"allow_private_addresses": True}, config.secrets)
    assert send(allowed, incident_message(to=webhook_receiver.url)).status == DELIVERED
    monkeypatch.setenv("TOCSIN_WEBHOOKS_TO_PRIVATE_ADDRESSES", "1")
    assert send(config, incident_message(to=webhook_receiver.url)).status == DELIVERED


# --- Apprise -------------------------------------------------------------------------------------

needs_apprise = pytest.mark.skipif(apprise_provider.apprise_library is None,
                                   reason="apprise is not installed (pip install 'tocsin[apprise]')")


@needs_apprise
def test_apprise_refuses_a_private_target_whatever_its_scheme(webhook_receiver):
    outcome = send(Config("apprise", "apprise"), incident_message(to=f"json://127.0.0.1:{webhook_receiver.port}/x"))
    assert (outcome.status, outcome.transient) == (FAILED, False) and "public address" in outcome.error
    assert webhook_receiver.requests == []


@needs_apprise
def test_apprise_json_url_reaches_the_receiver(webhook_receiver, private_webhooks):
    message = incident_message(to=f"json://127.0.0.1:{webhook_receiver.port}/apprise")
    assert send(Config("apprise", "apprise"), message).status == DELIVERED
    [request] = webhook_receiver.wait_for(1)
    assert request.path == "/apprise"
    body = request.json()
    assert (body["title"], body["message"]) == ("Disk full on db1", "db1: /var at 99%")
    webhook_receiver.respond_with(500, "down")
    outcome = send(Config("apprise", "apprise"), message)
    assert (outcome.status, outcome.transient) == (FAILED, True)
    invalid = send(Config("apprise", "apprise"), incident_message(to="nosuchscheme://token@x"))
    assert (invalid.status, invalid.transient) == (FAILED, False) and "token" not in invalid.error


def test_apprise_missing_is_a_hard_failure_that_says_how_to_install(monkeypatch):
    monkeypatch.setattr(apprise_provider, "apprise_library", None)  # as on an install without the extra
    outcome = send(Config("apprise", "apprise"), incident_message(to="json://127.0.0.1/"))
    assert (outcome.status, outcome.transient, outcome.error) == (
        FAILED, False, "Apprise is not installed (pip install apprise)")
    assert check(Config("apprise", "apprise")) == "Apprise is not installed (pip install apprise)"


def test_gateway_body_is_valid_json_for_any_text(webhook_receiver):
    # Quotes, backslashes, braces, control characters and non-Latin scripts survive as data.
    texts = ['"}, "admin": true, "x": "', "\\u0000 \x00 \t", "{{to}}", "Ελληνικά 漢字 🚨"]
    for text in texts:
        assert send(gateway(webhook_receiver), sms(text=text)).status == SENT
    received = [json.loads(r.body) for r in webhook_receiver.wait_for(len(texts))]
    assert [r["text"] for r in received] == texts
    assert all(set(r) == {"to", "text"} for r in received)
