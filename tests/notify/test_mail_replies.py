"""Acknowledgement by e-mail reply (F4): real SMTP through smtplib to the listener, whose `ack`
mailbox the notify app registers; automatic replies are accepted and ignored."""

import smtplib
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from tests.support.server import free_port
from tocsin.alerts import smtp
from tocsin.core import mailboxes
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.notify import mail_replies, tokens
from tocsin.notify.models import AckToken

from .ack_fixtures import Scene, audited, timeline

SENDER = "ben@example.org"


class Listener(Controller):
    def factory(self):
        return smtp.protocol(self.handler, self.loop)


@pytest.fixture
def listener(transactional_db):
    before = mailboxes.handler_for("ack")
    mail_replies.register_mailboxes()
    smtp.quiet_protocol_log()
    controller = Listener(smtp.InboundMail(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()
    if before is None:
        mailboxes.unregister("ack")


@pytest.fixture
def scene(listener, make_team, person, make_user):
    return Scene(make_team, person, make_user)


def reply(subject="Re: [Tocsin] #1 Card payments failing", body="On it.\n\n> Tocsin paged you", **headers):
    msg = EmailMessage()
    msg["From"] = f"Ben <{SENDER}>"
    msg["To"] = "Tocsin <ack@tocsin.localhost>"
    msg["Subject"] = subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def send(listener, recipient, msg):
    with smtplib.SMTP(listener.hostname, listener.port, timeout=30) as client:
        client.ehlo()
        client.mail(SENDER)
        code, _ = client.rcpt(recipient)
        assert code == 250
        return client.data(msg.as_bytes())


def status(incident):
    return Incident.objects.get(pk=incident.pk).status


def test_the_reply_address_carries_the_token_at_tocsins_mail_domain(settings):
    settings.BASE_URL, settings.TOCSIN_INBOUND_MAIL_DOMAIN = "https://tocsin.example.org", ""
    assert tokens.reply_address("abc") == "ack+abc@tocsin.example.org"
    settings.TOCSIN_INBOUND_MAIL_DOMAIN = "mail.example.org"
    assert tokens.reply_address("abc") == "ack+abc@mail.example.org"


def test_a_reply_acknowledges(listener, scene):
    incident = scene.trigger()
    token = tokens.issue(scene.ben, incident, AckToken.ACKNOWLEDGE, now=timezone.now())
    code, text = send(listener, tokens.reply_address(token), reply())
    assert (code, text.decode()) == (250, "2.0.0 Incident acknowledged")
    assert status(incident) == Incident.ACKNOWLEDGED
    assert timeline(incident, TimelineEntry.ACKNOWLEDGED) == [f"Acknowledged by person {scene.ben.pk} via email."]
    assert [e.summary["via"] for e in audited("incident.acknowledge")] == ["email"]
    # The same reply again: the token is spent, and the sender is told so.
    code, text = send(listener, tokens.reply_address(token), reply())
    assert code == 550 and b"already been used" in text
    assert len(timeline(incident, TimelineEntry.ACKNOWLEDGED)) == 1


def test_the_token_in_the_subject_acknowledges_too(listener, scene):
    incident = scene.trigger()
    token = tokens.issue(scene.ana, incident, AckToken.ACKNOWLEDGE, now=timezone.now())
    code, _ = send(listener, "ack@tocsin.localhost", reply(subject=f"Re: #{incident.number} [ack:{token}]"))
    assert code == 250 and status(incident) == Incident.ACKNOWLEDGED


@pytest.mark.parametrize("headers", [
    {"Auto_Submitted": "auto-replied"},
    {"X_Autoreply": "yes"},
    {"Precedence": "bulk"},
    {"Precedence": "junk"},
    {"Precedence": "auto_reply"},
    {"subject": "Out of Office: Re: [Tocsin] #1 Card payments failing"},
    {"subject": "Automatic reply: away until Monday"},
])
def test_automatic_replies_are_accepted_and_ignored(listener, scene, headers):
    incident = scene.trigger()
    token = tokens.issue(scene.ben, incident, AckToken.ACKNOWLEDGE, now=timezone.now())
    code, _ = send(listener, tokens.reply_address(token), reply(**headers))
    assert code == 250
    assert status(incident) == Incident.TRIGGERED
    assert AckToken.objects.get().used_at is None


def test_auto_submitted_no_is_a_person_replying(listener, scene):
    incident = scene.trigger()
    token = tokens.issue(scene.ben, incident, AckToken.ACKNOWLEDGE, now=timezone.now())
    send(listener, tokens.reply_address(token), reply(Auto_Submitted="no"))
    assert status(incident) == Incident.ACKNOWLEDGED


def test_resolve_as_first_line_resolves_only_with_a_resolve_token(listener, scene):
    first, second = scene.trigger("Card payments failing"), scene.trigger("Refunds stuck")
    ack = tokens.issue(scene.ben, first, AckToken.ACKNOWLEDGE, now=timezone.now())
    code, text = send(listener, tokens.reply_address(ack), reply(body="resolve\n\n> Tocsin paged you"))
    assert text.decode() == "2.0.0 Incident acknowledged" and status(first) == Incident.ACKNOWLEDGED
    resolve = tokens.issue(scene.ben, second, AckToken.RESOLVE, now=timezone.now())
    code, text = send(listener, tokens.reply_address(resolve), reply(body="Resolve\nrestarted the pods"))
    assert text.decode() == "2.0.0 Incident resolved" and status(second) == Incident.RESOLVED
    assert timeline(second, TimelineEntry.RESOLVED) == [f"Resolved by person {scene.ben.pk} via email."]


def test_an_unknown_token_or_none_is_refused_and_changes_nothing(listener, scene):
    incident = scene.trigger()
    code, text = send(listener, "ack+" + "a" * 52 + "@tocsin.localhost", reply())
    assert code == 550 and b"not valid" in text
    code, text = send(listener, "ack@tocsin.localhost", reply())
    assert code == 550 and b"token" in text
    assert status(incident) == Incident.TRIGGERED


def test_other_unknown_mailboxes_are_still_refused_at_rcpt(listener, scene):
    with smtplib.SMTP(listener.hostname, listener.port, timeout=30) as client:
        client.ehlo()
        client.mail(SENDER)
        assert client.rcpt("nobody+x@tocsin.localhost")[0] == 550
