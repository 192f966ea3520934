"""From a page to the provider and back (F1–F3): attempts per the person's chain, sent through
real local servers (an SMTP sink, a server speaking Twilio's API), retries, fallback, failover,
bundling and exhaustion moving the escalation on."""

import json
import time
from datetime import timedelta

import pytest
from django.db import OperationalError

from tocsin.directory.models import ContactMethod
from tocsin.escalation.models import NotificationRequest
from tocsin.incidents import services as incidents
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.notify.models import Attempt, Provider
from tocsin.notify.sending import record_provider_status

from .paging import SYSTEM, T0

pytestmark = pytest.mark.django_db(transaction=True)
ALICE_SMS, BOB_SMS = "+4915112345671", "+4915112345672"


def attempts_of(incident):
    for _ in range(200):
        try:
            return {(a.person.name, a.channel): a for a in
                    Attempt.objects.filter(incident=incident).select_related("person").order_by("step")}
        except OperationalError:  # the recorder thread is writing (see test_a_provider_that_hangs…)
            time.sleep(0.01)
    raise AssertionError("the test database stayed locked")


@pytest.fixture
def alice(responder):
    return responder("Alice", sms=ALICE_SMS, email="alice@example.org", voice=ALICE_SMS)


def test_a_page_goes_out_by_sms_and_email_at_once_and_the_call_waits_its_turn(
        clock, providers, pages, trigger, alice, smtp_sink, twilio_stub):
    pages([alice])
    incident = trigger()
    clock.settle()
    twilio_stub.wait_for(1)
    smtp_sink.wait_for(1)
    sms = twilio_stub.messages[0]
    assert sms["To"] == ALICE_SMS and f"#{incident.number}" in sms["Body"]
    assert sms["idempotency_token"]
    mail = smtp_sink.messages[0]
    assert mail["To"] == "alice@example.org" and incident.title in mail["Subject"]
    assert {part.get_content_type() for part in mail.walk()} >= {"text/plain", "text/html"}
    found = attempts_of(incident)
    assert found[("Alice", "sms")].status == Attempt.SENT
    assert found[("Alice", "sms")].provider_message_id == sms["sid"]
    assert found[("Alice", "email")].status == Attempt.DELIVERED
    call = found[("Alice", "voice")]
    assert call.status == Attempt.SCHEDULED and call.due_at == T0 + timedelta(minutes=2)
    assert twilio_stub.calls == []
    notes = list(TimelineEntry.objects.filter(incident=incident, kind=TimelineEntry.NOTIFIED)
                 .values_list("message", flat=True))
    assert any("Alice by SMS" in n and ALICE_SMS not in n for n in notes)

    clock.advance(minutes=2)
    twilio_stub.wait_for(1, kind="calls")
    assert twilio_stub.calls[0]["Url"].endswith(f"/notify/twilio/voice/{call.message_id}")


def test_acknowledging_cancels_every_attempt_still_waiting(clock, providers, pages, trigger, alice):
    pages([alice])
    incident = trigger()
    clock.settle()
    incidents.acknowledge(incident, actor=SYSTEM, via="sms", at=T0 + timedelta(seconds=30))
    clock.advance(minutes=5)
    assert attempts_of(incident)[("Alice", "voice")].status == Attempt.CANCELLED


def test_an_undelivered_sms_falls_back_to_the_next_method_at_once(clock, providers, pages, trigger, alice,
                                                                    twilio_stub):
    pages([alice])
    incident = trigger()
    clock.settle()
    sms = attempts_of(incident)[("Alice", "sms")]
    assert record_provider_status(sms.provider_message_id, "undelivered", "30003", at=T0 + timedelta(seconds=20))
    assert not record_provider_status(sms.provider_message_id, "undelivered", "30003")  # told twice: once
    sms.refresh_from_db()
    assert sms.status == Attempt.UNDELIVERED and "30003" in sms.error
    call = attempts_of(incident)[("Alice", "voice")]
    assert call.due_at == T0 + timedelta(seconds=20)  # not two minutes: at once
    clock.settle(T0 + timedelta(seconds=20))
    twilio_stub.wait_for(1, kind="calls")


def test_a_provider_error_is_retried_with_backoff(clock, providers, pages, trigger, responder, twilio_stub):
    bob = responder("Bob", sms=BOB_SMS)
    pages([bob])
    twilio_stub.fail_next(503)
    incident = trigger()
    clock.settle()
    sms = attempts_of(incident)[("Bob", "sms")]
    assert sms.status == Attempt.SCHEDULED and sms.tries == 1 and "503" in sms.error
    assert T0 + timedelta(seconds=2.5) <= sms.due_at <= T0 + timedelta(seconds=5)
    clock.settle(sms.due_at)
    sms.refresh_from_db()
    assert sms.status == Attempt.SENT and sms.tries == 2
    assert len(twilio_stub.messages) == 1  # the refused request was not a message


def test_a_bad_number_fails_at_once_and_the_next_method_goes_now(clock, providers, pages, trigger, alice,
                                                                 twilio_stub, smtp_sink):
    ContactMethod.objects.filter(person=alice, kind="email").delete()
    pages([alice])
    twilio_stub.fail_next(400, code=21211)
    incident = trigger()
    clock.settle(T0 + timedelta(seconds=1))
    found = attempts_of(incident)
    assert found[("Alice", "sms")].status == Attempt.FAILED and "21211" in found[("Alice", "sms")].error
    assert found[("Alice", "voice")].status == Attempt.SENT  # fell back without waiting two minutes


def test_when_every_method_of_the_tier_fails_the_next_tier_is_paged_at_once(
        clock, providers, pages, trigger, responder, twilio_stub):
    alice = responder("Alice", sms=ALICE_SMS)
    bob = responder("Bob", sms=BOB_SMS)
    pages([alice], [bob])
    twilio_stub.fail_next(400, code=21211)
    incident = trigger()
    clock.settle(T0 + timedelta(seconds=1))
    paged = list(NotificationRequest.objects.filter(incident=incident).values_list("person__name", "tier"))
    assert paged == [("Alice", 0), ("Bob", 1)]
    assert [m["To"] for m in twilio_stub.messages] == [BOB_SMS]
    assert TimelineEntry.objects.filter(incident=incident, message__contains="Every contact method of Alice").exists()


def test_sms_fails_over_to_the_second_provider(clock, providers, pages, trigger, responder, twilio_stub,
                                              webhook_receiver, monkeypatch):
    monkeypatch.setenv("TOCSIN_WEBHOOKS_TO_PRIVATE_ADDRESSES", "true")
    Provider.objects.create(name="gateway", kind=Provider.SMS_GATEWAY, channels=["sms"], priority=20, settings={
        "url": f"{webhook_receiver.url}/send", "method": "POST", "content_type": "json",
        "body_template": {"to": "{to}", "text": "{text}"}})
    bob = responder("Bob", sms=BOB_SMS)
    pages([bob])
    twilio_stub.fail_next(503)
    incident = trigger()
    clock.settle()
    webhook_receiver.wait_for(1)
    assert webhook_receiver.requests[0].json()["to"] == BOB_SMS
    sms = attempts_of(incident)[("Bob", "sms")]
    assert (sms.status, sms.provider, sms.failover_from) == (Attempt.SENT, "gateway", "twilio")


def test_pages_due_together_go_out_as_one_message(clock, providers, pages, trigger, responder, twilio_stub):
    bob = responder("Bob", sms=BOB_SMS)
    pages([bob])
    first, second, third = (trigger(f"Disk full on db-{n}") for n in (1, 2, 3))
    clock.settle()
    twilio_stub.wait_for(1)
    assert len(twilio_stub.messages) == 1
    body = twilio_stub.messages[0]["Body"]
    assert all(f"#{i.number}" in body for i in (first, second, third))
    statuses = sorted(a.status for a in Attempt.objects.filter(channel="sms"))
    assert statuses == [Attempt.BUNDLED, Attempt.BUNDLED, Attempt.SENT]


def test_an_emergency_only_method_is_not_used_for_a_routine_page(clock, providers, pages, trigger, responder,
                                                                twilio_stub, smtp_sink):
    from tocsin.directory import services as directory

    carol = responder("Carol", email="carol@example.org")
    directory.add_method(actor=SYSTEM, person=carol, kind="sms", value=ALICE_SMS, usage="emergency_only")
    pages([carol])
    trigger(urgency=Incident.LOW)
    clock.settle()
    smtp_sink.wait_for(1)
    assert twilio_stub.messages == []
    assert not Attempt.objects.filter(channel="sms").exists()


def test_a_lapsed_send_is_taken_again_and_its_late_answer_is_ignored(clock, providers, pages, trigger, responder,
                                                                     twilio_stub):
    """A process that died mid-send: the attempt stays `sending` until its lease ends, then the next
    run sends it again (at-least-once)."""
    bob = responder("Bob", sms=BOB_SMS)
    pages([bob])
    incident = trigger()
    from tocsin.notify import sending

    submitted = []
    original = sending.pool.submit
    sending.pool.submit = submitted.extend  # the process "dies" before its sends leave
    try:
        clock.settle()
    finally:
        sending.pool.submit = original
    sms = attempts_of(incident)[("Bob", "sms")]
    assert sms.status == Attempt.SENDING and twilio_stub.messages == []
    clock.settle(sms.claimed_until + timedelta(seconds=1))
    twilio_stub.wait_for(1)
    sms.refresh_from_db()
    assert sms.status == Attempt.SENT and sms.tries == 2
    assert json.loads(json.dumps(twilio_stub.messages[0]["To"])) == BOB_SMS


def test_a_dead_process_journal_is_kept_until_its_sends_lapse_and_then_recorded_not_resent(
        clock, providers, pages, trigger, responder, twilio_stub):
    """The process died after Twilio took the SMS and before the answer was written: the next
    process records it from the journal when the lease lapses, and sends nothing again."""
    import socket

    from tocsin.notify import journal, sending

    bob = responder("Bob", sms=BOB_SMS)
    pages([bob])
    incident = trigger()
    original = sending.pool.submit
    sending.pool.submit = lambda sendings: None  # the process "dies" with the send on the wire
    try:
        clock.settle()
    finally:
        sending.pool.submit = original
    sms = attempts_of(incident)[("Bob", "sms")]
    dead = journal.folder() / f"{socket.gethostname()}-4194300.jsonl"  # a process id no process has
    dead.parent.mkdir(parents=True, exist_ok=True)
    dead.write_text(json.dumps({"send": journal.key(sms.pk, str(sms.message_id), sms.claimed_until),
                                "provider": "twilio", "id": "SM-on-the-wire", "status": "sent"}) + "\n")

    sending.send_due(sms.claimed_until - timedelta(seconds=5))  # its lease still runs: the journal stays
    assert dead.exists()
    clock.settle(sms.claimed_until + timedelta(seconds=1))
    sms.refresh_from_db()
    assert (sms.status, sms.provider_message_id, sms.tries) == (Attempt.SENT, "SM-on-the-wire", 1)
    assert twilio_stub.messages == [] and not dead.exists()


def test_a_bundle_the_journal_recovers_is_not_sent_again(clock, providers, pages, trigger, responder, twilio_stub):
    """The process died after Twilio took a bundle: the carrier is recorded from the journal, and
    the pages it carried stay carried instead of going out a second time."""
    import socket

    from tocsin.notify import journal, sending

    bob = responder("Bob", sms=BOB_SMS)
    pages([bob])
    for n in (1, 2, 3):
        trigger(f"Disk full on db-{n}")
    original = sending.pool.submit
    sending.pool.submit = lambda sendings: None
    try:
        clock.settle()
    finally:
        sending.pool.submit = original
    [carrier] = Attempt.objects.filter(channel="sms", carrier__isnull=True)
    dead = journal.folder() / f"{socket.gethostname()}-4194301.jsonl"
    dead.parent.mkdir(parents=True, exist_ok=True)
    dead.write_text(json.dumps({"send": journal.key(carrier.pk, str(carrier.message_id), carrier.claimed_until),
                                "provider": "twilio", "id": "SM-bundle", "status": "sent"}) + "\n")
    clock.settle(carrier.claimed_until + timedelta(seconds=1))
    assert sorted(Attempt.objects.filter(channel="sms").values_list("status", flat=True)) == [
        Attempt.BUNDLED, Attempt.BUNDLED, Attempt.SENT]
    assert twilio_stub.messages == []


def test_the_full_loop_an_alert_pages_by_sms_and_email_and_the_reply_1_acknowledges(
        clock, providers, pages, trigger, alice, paging_service, smtp_sink, twilio_stub, settings):
    """Alert in, SMS and e-mail out, the SMS reply "1" (signed as Twilio signs it) acknowledges,
    and the call still waiting is cancelled."""
    from django.test import Client

    from tocsin.alerts import routing
    from tocsin.alerts.formats.events_v2 import parse_event
    from tocsin.alerts.lookup import find
    from tocsin.alerts.services import create_integration
    from tocsin.alerts.store import store_events

    pages([alice])
    _, key = create_integration(paging_service, "events-v2", actor=SYSTEM, name="Monitoring")
    event = parse_event({"routing_key": key, "event_action": "trigger", "dedup_key": "disk-db1",
                         "payload": {"summary": "Disk full on db1", "source": "db1", "severity": "critical"}}, size=200)
    store_events(routing.bind([event], find(key)), T0)
    clock.settle(T0 + timedelta(seconds=1))
    twilio_stub.wait_for(1)
    smtp_sink.wait_for(1)
    incident = Incident.objects.get(title="Disk full on db1")
    assert f"#{incident.number}" in twilio_stub.messages[0]["Body"]

    path, params = "/notify/twilio/sms", {"From": ALICE_SMS, "Body": "1", "To": "+15005550006", "MessageSid": "SMx"}
    signature = twilio_stub.sign(settings.BASE_URL + path, params)
    answer = Client().post(path, params, headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 200, answer.content
    incident.refresh_from_db()
    assert incident.status == Incident.ACKNOWLEDGED
    assert TimelineEntry.objects.filter(incident=incident, kind=TimelineEntry.ACKNOWLEDGED,
                                        message__contains="via sms").exists()
    assert attempts_of(incident)[("Alice", "voice")].status == Attempt.CANCELLED
    clock.advance(minutes=5)
    assert twilio_stub.calls == []


def test_a_provider_that_hangs_holds_up_only_its_own_message(clock, providers, pages, trigger, responder,
                                                            twilio_stub, smtp_sink):
    from tocsin.notify.pool import pool

    def status(attempt):
        # (The recorder thread writes meanwhile; the in-memory test database then says "locked"
        # at once instead of waiting.)
        for _ in range(200):
            try:
                return Attempt.objects.get(pk=attempt.pk).status
            except OperationalError:
                pool.wait_idle(0.01)
        raise AssertionError("the test database stayed locked")

    alice = responder("Alice", sms=ALICE_SMS)
    bob = responder("Bob", email="bob@example.org")
    pages([alice, bob])
    twilio_stub.hang_next(3)
    incident = trigger()
    clock.engine.run_due(T0)  # the page, the dispatch and the sends start; nobody waits for them
    smtp_sink.wait_for(1)
    found = attempts_of(incident)
    for _ in range(100):
        if status(found[("Bob", "email")]) == Attempt.DELIVERED:
            break
        pool.wait_idle(0.05)
    assert status(found[("Bob", "email")]) == Attempt.DELIVERED
    assert status(found[("Alice", "sms")]) == Attempt.SENDING  # still on the line
    assert pool.wait_idle(30)
    assert status(found[("Alice", "sms")]) == Attempt.SENT
