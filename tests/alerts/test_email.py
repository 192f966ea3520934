"""Inbound e-mail (E1, E8): real SMTP through smtplib to the aiosmtpd listener on a free port."""

import asyncio
import json
import logging
import smtplib
import socket
import time
from email import policy
from email.message import EmailMessage
from unittest import mock

import pytest
from aiosmtpd.controller import Controller

from tests.support.server import Served, environment, free_port, tocsin
from tocsin.alerts import mail, smtp
from tocsin.alerts.models import Alert, Integration
from tocsin.core import audit
from tocsin.core.models import AuditEntry
from tocsin.directory import services as directory
from tocsin.incidents.models import Incident

SENDER = "monitor@nagios.example"


class Listener(Controller):
    """The listener's own SMTP sessions, served from aiosmtpd's controller thread."""

    def factory(self):
        return smtp.protocol(self.handler, self.loop)


@pytest.fixture
def listener(transactional_db):
    smtp.quiet_protocol_log()
    controller = Listener(smtp.InboundMail(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


def message(subject="Disk full on db-1", body="/var is 100% full", sender=SENDER, html=None, **headers):
    msg = EmailMessage()
    msg["From"] = f"Nagios <{sender}>"
    msg["To"] = "alerts@tocsin.example"
    msg["Subject"] = subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    if html is not None:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(body)
    return msg


def send(listener, recipients, msg, sender=SENDER):
    with smtplib.SMTP(listener.hostname, listener.port, timeout=30) as client:
        return client.send_message(msg, from_addr=sender, to_addrs=recipients)


def test_an_alert_mail_opens_an_alert_and_its_incident(listener, integration, processed):
    email, key = integration("email")
    assert send(listener, [f"{key}@alerts.tocsin.example"], message()) == {}
    alert = Alert.objects.get()
    assert (alert.integration, alert.service, alert.status, alert.source) == (email, email.service, "triggered", SENDER)
    assert alert.summary == "Disk full on db-1"
    assert alert.details["details"] == "/var is 100% full"
    assert alert.dedup_key == mail.subject_dedup_key("Disk full on db-1")
    processed()
    assert Incident.objects.get().title == "Disk full on db-1"


def test_the_same_subject_again_is_a_repeat_of_the_open_alert(listener, integration):
    _, key = integration("email")
    send(listener, [key.upper() + "@x.example"], message())
    send(listener, [f"{key}+db@x.example"], message(subject="Disk  full on DB-1"))
    alert = Alert.objects.get()
    assert alert.occurrences == 2


def test_unknown_mailboxes_are_refused_at_rcpt_with_550(listener, integration):
    _, other_kind = integration("events-v2")
    for mailbox in ("0" * 32, other_kind, "not-a-key"):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send(listener, [f"{mailbox}@alerts.tocsin.example"], message())
        (code, _), = refused.value.recipients.values()
        assert code == 550
    assert not Alert.objects.exists()


def test_repeated_unknown_mailboxes_from_one_address_are_slowed_down(listener, integration):
    _, key = integration("email")
    codes = []
    with smtplib.SMTP(listener.hostname, listener.port, timeout=30) as client:
        client.ehlo()
        client.mail(SENDER)
        for attempt in range(8):
            codes.append(client.rcpt(f"{attempt:032x}@x.example")[0])
        codes.append(client.rcpt(f"{key}@x.example")[0])
    assert codes[0] == 550 and codes[-1] == 450 and 450 in codes[:-1]


def test_a_resolved_subject_resolves_the_alert_it_answers(listener, integration, processed):
    _, key = integration("email")
    send(listener, [f"{key}@x.example"], message())
    processed()
    send(listener, [f"{key}@x.example"], message(subject="[RESOLVED] Disk full on db-1", body="back to 40%"))
    alert = Alert.objects.get()
    assert (alert.status, alert.occurrences) == (Alert.RESOLVED, 1)
    processed()
    assert Incident.objects.get().status == Incident.RESOLVED


def test_a_resolved_mail_without_an_open_alert_changes_nothing(listener, integration):
    _, key = integration("email")
    send(listener, [f"{key}@x.example"], message(subject="RESOLVED: nothing was wrong"))
    assert not Alert.objects.exists()


def test_rules_extract_severity_and_dedup_key_and_recognise_recovery(listener, integration, processed):
    _, key = integration("email", rules={
        "severity_pattern": r"(?im)^State:\s*(?P<severity>\w+)",
        "dedup_pattern": r"(?m)^Host:\s*(?P<key>\S+)",
        "resolve_pattern": r"^\*\* RECOVERY",
    })
    send(listener, [f"{key}@x.example"], message(
        subject="** PROBLEM Service Alert: db-1/Disk is CRITICAL **", body="Host: db-1\nState: CRITICAL\n"))
    alert = Alert.objects.get()
    assert (alert.dedup_key, alert.severity) == ("db-1", "critical")
    processed()
    send(listener, [f"{key}@x.example"], message(
        subject="** RECOVERY Service Alert: db-1/Disk is OK **", body="Host: db-1\nState: OK\n"))
    alert.refresh_from_db()
    assert alert.status == Alert.RESOLVED
    processed()
    assert Incident.objects.get().status == Incident.RESOLVED


def test_severity_words_map_onto_tocsin_severities_and_unknown_ones_keep_the_default(listener, integration):
    _, key = integration("email", default_severity="warning",
                         rules={"severity_pattern": r"\[(?P<severity>\w+)\]"})
    send(listener, [f"{key}@x.example"], message(subject="[WARN] queue slow"))
    send(listener, [f"{key}@x.example"], message(subject="[high] queue stuck"))
    send(listener, [f"{key}@x.example"], message(subject="[purple] queue odd"))
    assert dict(Alert.objects.values_list("summary", "severity")) == {
        "[WARN] queue slow": "warning", "[high] queue stuck": "error", "[purple] queue odd": "warning"}


def test_an_unusable_rule_is_ignored_rather_than_refusing_mail(listener, integration):
    email, key = integration("email")
    # Options are checked when written; these stand for ones stored before a check existed.
    Integration.objects.filter(pk=email.pk).update(options={"rules": {
        "dedup_pattern": "(unclosed", "resolve_pattern": 42, "severity_pattern": ["not", "text"]}})
    send(listener, [f"{key}@x.example"], message())
    send(listener, [f"{key}@x.example"], message(subject="RESOLVED Disk full on db-1"))
    alert = Alert.objects.get()
    assert (alert.dedup_key, alert.status, alert.severity) == (
        mail.subject_dedup_key("Disk full on db-1"), Alert.RESOLVED, "error")


def test_html_only_mail_becomes_its_text(listener, integration):
    _, key = integration("email")
    html = ("<html><head><style>p {color: red}</style><script>alert(1)</script></head>"
            "<body><p>Disk <b>full</b> on db-1</p><p>Free: 0&nbsp;%</p></body></html>")
    send(listener, [f"{key}@x.example"], message(html=html))
    assert Alert.objects.get().details["details"] == "Disk full on db-1\nFree: 0 %"


@pytest.mark.parametrize("headers", [
    {"Auto_Submitted": "auto-replied"},
    {"X_Autoreply": "yes"},
    {"Precedence": "auto_reply"},
])
def test_automatic_replies_are_accepted_and_ignored(listener, integration, headers):
    _, key = integration("email")
    assert send(listener, [f"{key}@x.example"], message(subject="Out of office: Disk full", **headers)) == {}
    assert not Alert.objects.exists()


def test_auto_submitted_no_is_a_person_writing(listener, integration):
    _, key = integration("email")
    send(listener, [f"{key}@x.example"], message(Auto_Submitted="no"))
    assert Alert.objects.count() == 1


def test_mail_over_one_mebibyte_is_refused_with_552(listener, integration):
    _, key = integration("email")
    big = message(body=("y" * 76 + "\n") * (mail.MAX_MESSAGE // 77 + 100))
    with pytest.raises(smtplib.SMTPSenderRefused) as announced:  # refused at MAIL FROM by its SIZE
        send(listener, [f"{key}@x.example"], big)
    assert announced.value.smtp_code == 552
    with smtplib.SMTP(listener.hostname, listener.port, timeout=30) as client:  # not announced: at DATA
        client.ehlo()
        assert client.mail(SENDER)[0] == 250
        assert client.rcpt(f"{key}@x.example")[0] == 250
        assert client.data(big.as_bytes(policy=policy.SMTP))[0] == 552
    assert not Alert.objects.exists()


def test_a_storage_failure_is_a_temporary_refusal_and_keeps_nothing(listener, integration):
    _, key = integration("email")
    with mock.patch.object(smtp, "store_events", side_effect=RuntimeError("database went away")):
        with pytest.raises(smtplib.SMTPDataError) as refused:
            send(listener, [f"{key}@x.example"], message())
    assert refused.value.smtp_code == 451
    assert not Alert.objects.exists()


def test_one_message_to_two_mailboxes_makes_an_alert_on_each(listener, integration, make_service):
    _, first = integration("email")
    _, second = integration("email", on=make_service("Search", team="Search team"))
    send(listener, [f"{first}@x.example", f"{second}@x.example"], message())
    assert sorted(Alert.objects.values_list("service__name", flat=True)) == ["Payments", "Search"]


# The report address (E8)

@pytest.fixture
def reporter(person):
    ana = person("Ana Silva")
    directory.add_method(actor=audit.Actor.system("test"), person=ana, kind="email", value="ana.silva@corp.example")
    return ana


def test_a_known_person_reports_an_outage_by_mail(listener, service, reporter, processed):
    send(listener, ["report@tocsin.example"], message(
        subject=f"[{service.slug}] Card payments fail at checkout", body="Since 10:02, every card is declined.",
        sender="Ana.Silva@CORP.example"), sender="ana.silva@corp.example")
    alert = Alert.objects.get()
    assert (alert.service, alert.source, alert.summary, alert.integration) == (
        service, "manual", "Card payments fail at checkout", None)
    assert alert.details["details"] == "Since 10:02, every card is declined."
    assert alert.details["via"] == "email"
    entry = AuditEntry.objects.get(action="alerts.report")
    assert entry.actor_label == f"person {reporter.pk} by e-mail"
    processed()
    assert Incident.objects.get().service == service


@pytest.mark.parametrize("sender, subject, problem", [
    ("stranger@elsewhere.example", "[payments] down", "not a known person"),
    ("ana.silva@corp.example", "payments are down", "Name the service in the subject"),
    ("ana.silva@corp.example", "[no-such-service] down", "No service 'no-such-service'"),
    ("ana.silva@corp.example", "[payments]   ", "summary"),
])
def test_a_report_mail_that_cannot_be_placed_is_refused_naming_the_problem(listener, service, reporter, sender,
                                                                          subject, problem):
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(listener, ["report@tocsin.example"], message(subject=subject, sender=sender), sender=sender)
    assert refused.value.smtp_code == 550
    assert problem in refused.value.smtp_error.decode()
    assert not Alert.objects.exists()


def test_probing_the_directory_through_the_report_address_is_slowed_down(listener, service, reporter):
    codes = []
    for attempt in range(8):
        try:
            stranger = f"p{attempt}@x.example"
            send(listener, ["report@tocsin.example"], message(subject="[payments] down", sender=stranger),
                 sender=stranger)
        except smtplib.SMTPDataError as refused:
            codes.append(refused.smtp_code)
        except smtplib.SMTPRecipientsRefused as refused:
            codes.append(next(iter(refused.recipients.values()))[0])
    assert codes[0] == 550 and codes[-1] == 450


# The listener as `tocsin serve` runs it

def test_a_taken_port_is_reported_and_retried_without_failing_the_server(caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        part = smtp.SmtpPart(host="127.0.0.1", port=taken.getsockname()[1])

        async def run_until_warned():
            stop = asyncio.Event()
            running = asyncio.create_task(part.run(stop))
            while "cannot listen" not in caplog.text and not running.done():
                await asyncio.sleep(0.01)
            stop.set()
            await running

        with caplog.at_level(logging.WARNING, logger="tocsin.alerts"):
            asyncio.run(run_until_warned())
    assert f"cannot listen on 127.0.0.1:{part.port}" in caplog.text


SETUP = """
from tocsin.alerts import services
from tocsin.catalog import services as catalog
from tocsin.core import audit, services as core
system = audit.Actor.system("test")
team = core.create_team(actor=system, name="Platform")
service = catalog.create_service(actor=system, source="cli", name="Payments", kind="technical", owner_team=team, tier=2)
print("KEY", services.create_integration(service, "email", actor=system)[1])
"""

COUNT = """
import asyncio
import json
import logging
from tocsin.alerts.models import Alert, Integration
from tocsin.incidents.models import Incident
print(json.dumps([list(Alert.objects.values_list("summary", "source")), Incident.objects.count()]))
"""


def test_tocsin_serve_accepts_alert_mail(tmp_path):
    env = environment(tmp_path)
    tocsin(env, "migrate")
    key = tocsin(env, "manage", "shell", "-c", SETUP).stdout.split("KEY")[-1].strip()
    with Served(env) as served:
        with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=30) as client:
            client.send_message(message(), from_addr=SENDER, to_addrs=[f"{key}@tocsin.example"])
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.send_message(message(), from_addr=SENDER, to_addrs=["f" * 32 + "@tocsin.example"])
        # The engine runs beside the listener in `tocsin serve`: the incident follows on its own.
        deadline = time.monotonic() + 60
        while True:
            alerts, incidents = json.loads(tocsin(env, "manage", "shell", "-c", COUNT).stdout.strip().splitlines()[-1])
            if incidents or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        log = served.output()
    assert alerts == [["Disk full on db-1", SENDER]]
    assert incidents == 1
    assert SENDER not in log and key not in log  # no addresses or keys in the logs
