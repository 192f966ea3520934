"""Twilio's webhooks (F4): SMS replies and voice keypresses acknowledge or escalate through the
incident services; every request must carry Twilio's signature over the public URL."""

import json
import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from twilio.request_validator import RequestValidator

from tocsin.directory.models import ContactMethod
from tocsin.escalation.models import NotificationRequest
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.notify import views_twilio
from tocsin.notify.models import Attempt, Provider

from .ack_fixtures import ANA_PHONE, BEN_PHONE, STRANGER_PHONE, Scene, audited, timeline

AUTH_TOKEN = "twilio-test-auth-token-0123456789"


@pytest.fixture
def scene(make_team, person, make_user, monkeypatch):
    monkeypatch.setenv("TOCSIN_TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    built = Scene(make_team, person, make_user)
    built.method(built.ana, ContactMethod.SMS, ANA_PHONE)
    built.method(built.ben, ContactMethod.VOICE, BEN_PHONE)
    return built


def signature(path, params, token=AUTH_TOKEN):
    return RequestValidator(token).compute_signature(settings.BASE_URL + path, params)


def twilio(path, params=None, *, method="post", sign=True, token=AUTH_TOKEN):
    params = params or {}
    headers = {"X-Twilio-Signature": signature(path, params if method == "post" else {}, token)} if sign else {}
    return getattr(Client(), method)(path, params, headers=headers)


def text(sender, body, **more):
    return twilio("/notify/twilio/sms", {"From": sender, "Body": body, "To": "+14155550000",
                                         "MessageSid": "SM123", **more})


def said(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    return " ".join(re.findall(r"<Message>(.*?)</Message>", response.content.decode(), re.S))


def status(incident):
    return Incident.objects.get(pk=incident.pk).status


def by_hand(incident):
    """The timeline's escalations someone asked for (not the policy's own steps)."""
    return list(TimelineEntry.objects.filter(incident=incident, kind=TimelineEntry.ESCALATED, data__by_hand=True)
                .order_by("at", "pk").values_list("message", flat=True))


# --- signatures ---------------------------------------------------------------------------------

def test_a_missing_or_wrong_signature_is_refused_and_changes_nothing(scene):
    incident = scene.trigger()
    params = {"From": ANA_PHONE, "Body": "1"}
    assert Client().post("/notify/twilio/sms", params).status_code == 403
    assert twilio("/notify/twilio/sms", params, token="not-the-token").status_code == 403
    tampered = Client().post("/notify/twilio/sms", {**params, "Body": "resolve"},
                             headers={"X-Twilio-Signature": signature("/notify/twilio/sms", params)})
    assert tampered.status_code == 403
    assert status(incident) == Incident.TRIGGERED


def test_without_an_auth_token_every_request_is_refused(scene, monkeypatch):
    monkeypatch.delenv("TOCSIN_TWILIO_AUTH_TOKEN")
    incident = scene.trigger()
    assert text(ANA_PHONE, "1").status_code == 403
    assert status(incident) == Incident.TRIGGERED


def test_the_auth_token_may_come_from_the_enabled_twilio_provider(scene, monkeypatch):
    monkeypatch.delenv("TOCSIN_TWILIO_AUTH_TOKEN")
    Provider.objects.create(name="Twilio", kind=Provider.TWILIO, channels=["sms", "voice"],
                            secrets=json.dumps({"account_sid": "AC1", "auth_token": AUTH_TOKEN}))
    incident = scene.trigger()
    assert "acknowledged" in said(text(ANA_PHONE, "1"))
    assert status(incident) == Incident.ACKNOWLEDGED


def test_malformed_requests_are_400_and_change_nothing(scene):
    incident = scene.trigger()
    assert twilio("/notify/twilio/sms", {"Body": "1"}).status_code == 400
    assert twilio("/notify/twilio/sms", {"From": ANA_PHONE}).status_code == 400
    assert text(ANA_PHONE, "ack " + "x" * 2000).status_code == 400
    assert text(ANA_PHONE, "1", Padding="p" * 70_000).status_code == 400
    assert status(incident) == Incident.TRIGGERED


# --- SMS replies --------------------------------------------------------------------------------

def test_1_acknowledges_the_one_open_page(scene):
    incident = scene.trigger()
    reply = said(text(ANA_PHONE, "1"))
    assert reply == f"Tocsin: {incident.reference} acknowledged."
    assert status(incident) == Incident.ACKNOWLEDGED
    assert timeline(incident, TimelineEntry.ACKNOWLEDGED) == ["Acknowledged by ana via sms."]


@pytest.mark.parametrize("body", ["ack", " ACK ", "Acknowledge", "ack {n}", "  Ack   {n} ", "#{n} ack", "# {n} ACK",
                                  "1 {n}"])
def test_the_forms_of_an_acknowledgement(scene, body):
    incident = scene.trigger()
    assert "acknowledged" in said(text(ANA_PHONE, body.format(n=incident.number)))
    assert status(incident) == Incident.ACKNOWLEDGED


def test_several_open_pages_ask_which_one(scene):
    first, second = scene.trigger("Card payments failing"), scene.trigger("Refunds stuck")
    reply = said(text(ANA_PHONE, "ack"))
    assert reply == f"Tocsin: you have 2 open pages. Reply ACK {first.number} or ACK {second.number}."
    assert status(first) == status(second) == Incident.TRIGGERED
    assert said(text(ANA_PHONE, f"ACK {second.number}")) == f"Tocsin: {second.reference} acknowledged."
    assert status(first) == Incident.TRIGGERED and status(second) == Incident.ACKNOWLEDGED


def test_no_open_pages_says_so(scene):
    assert said(text(ANA_PHONE, "ack")) == "Tocsin: you have no open pages."


def test_an_incident_the_sender_was_not_paged_for_is_refused(scene):
    incident = scene.trigger()
    scene.method(scene.carl, ContactMethod.SMS, STRANGER_PHONE)
    reply = said(text(STRANGER_PHONE, f"ack {incident.number}"))
    assert "not paged" in reply
    assert said(text(STRANGER_PHONE, "ack 99999")) == "Tocsin: you were not paged for #99999; open Tocsin to act on it."
    assert status(incident) == Incident.TRIGGERED


def test_escalate_and_resolve_by_sms(scene):
    incident = scene.trigger()
    assert said(text(ANA_PHONE, "2")) == f"Tocsin: {incident.reference} escalated to the next tier."
    assert by_hand(incident)[0].startswith("Escalated to the next tier by ana")
    assert said(text(ANA_PHONE, f"escalate {incident.number}")).endswith("escalated to the next tier.")
    assert said(text(ANA_PHONE, f"resolve {incident.number}")) == f"Tocsin: {incident.reference} resolved."
    assert status(incident) == Incident.RESOLVED
    assert timeline(incident, TimelineEntry.RESOLVED) == ["Resolved by ana via sms."]
    assert said(text(ANA_PHONE, f"res {incident.number}")) == f"Tocsin: {incident.reference} is already resolved."


@pytest.mark.parametrize("reply", ["2", "esc", "escalate"])
def test_an_sms_escalation_is_recorded_as_by_sms(scene, reply):
    incident = scene.trigger()
    assert said(text(ANA_PHONE, reply)) == f"Tocsin: {incident.reference} escalated to the next tier."
    assert by_hand(incident) == ["Escalated to the next tier by ana via sms."]
    assert [entry.summary["via"] for entry in audited("incident.escalate_now")] == ["sms"]


def test_the_voice_number_of_a_person_without_a_login_works_too(scene):
    incident = scene.trigger()
    assert said(text(BEN_PHONE, "ack")) == f"Tocsin: {incident.reference} acknowledged."
    [entry] = audited("incident.acknowledge")
    assert entry.actor_label == f"person {scene.ben.pk}" and entry.summary["via"] == "sms"


def test_an_unknown_number_gets_a_polite_reply_and_an_audit_entry_without_the_number(scene):
    incident = scene.trigger()
    assert said(text(STRANGER_PHONE, "1")) == "This number is not registered with Tocsin."
    [entry] = audited("notify.sms_from_unknown_number")
    assert STRANGER_PHONE not in json.dumps(entry.summary) + entry.actor_label
    assert "5550199" not in json.dumps(entry.summary)
    assert status(incident) == Incident.TRIGGERED


def test_stop_and_start_turn_the_senders_sms_method_off_and_on(scene):
    method = ContactMethod.objects.get(person=scene.ana, kind=ContactMethod.SMS)
    assert "no more SMS" in said(text(ANA_PHONE, "STOP"))
    method.refresh_from_db()
    assert method.is_active is False
    assert [e.summary.get("is_active") for e in audited("contact.method_updated")] == [{"from": True, "to": False}]
    assert "on again" in said(text(ANA_PHONE, " start "))
    method.refresh_from_db()
    assert method.is_active is True


def test_help_and_nonsense_get_the_list_of_commands(scene):
    assert said(text(ANA_PHONE, "HELP")) == views_twilio.HELP
    assert said(text(ANA_PHONE, "what is this")).startswith("Sorry, that was not understood. Tocsin: reply ACK")
    assert said(text(ANA_PHONE, "ack 1 2")).startswith("Sorry")


def test_parse():
    assert views_twilio.parse("#42 ack") == ("ack", 42)
    assert views_twilio.parse("ESC") == ("escalate", None)
    assert views_twilio.parse("res 7") == ("resolve", 7)
    assert views_twilio.parse("stop 7") == (None, None)
    assert views_twilio.parse("42") == (None, None)
    assert views_twilio.parse("") == (None, None)


# --- voice --------------------------------------------------------------------------------------

@pytest.fixture
def call(scene):
    """A voice page to Ben, as the dispatcher records it: (incident, attempt)."""
    incident = scene.trigger()
    request = NotificationRequest.objects.get(incident=incident, person=scene.ben)
    attempt = Attempt.objects.create(request=request, incident=incident, person=scene.ben, step=0,
                                     channel="voice", due_at=timezone.now(), status=Attempt.SENT,
                                     body=f"Tocsin incident {incident.number}: Card payments failing.")
    return incident, attempt


def test_the_call_reads_the_message_and_waits_for_one_key(call):
    incident, attempt = call
    path = f"/notify/twilio/voice/{attempt.message_id}"
    assert twilio(path, method="get", sign=False).status_code == 403
    answer = twilio(path, method="get")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/xml")
    xml = answer.content.decode()
    assert f"Tocsin incident {incident.number}" in xml
    assert f'action="{settings.BASE_URL}/notify/twilio/gather/{attempt.message_id}"' in xml
    assert 'numDigits="1"' in xml
    assert twilio(path).status_code == 200  # Twilio may fetch it by POST as well
    assert status(incident) == Incident.TRIGGERED


def test_pressing_1_acknowledges_by_voice(call):
    incident, attempt = call
    answer = twilio(f"/notify/twilio/gather/{attempt.message_id}", {"Digits": "1", "CallSid": "CA1"})
    assert "Acknowledged" in answer.content.decode() and "<Hangup" in answer.content.decode()
    assert status(incident) == Incident.ACKNOWLEDGED
    assert timeline(incident, TimelineEntry.ACKNOWLEDGED) == [f"Acknowledged by person {attempt.person_id} via voice."]


def test_pressing_2_escalates(call):
    incident, attempt = call
    twilio(f"/notify/twilio/gather/{attempt.message_id}", {"Digits": "2", "CallSid": "CA1"})
    assert len(by_hand(incident)) == 1
    assert by_hand(incident)[0].startswith(f"Escalated to the next tier by person {attempt.person_id}")
    assert status(incident) == Incident.TRIGGERED


def test_a_keypress_escalation_is_recorded_as_by_voice(call):
    incident, attempt = call
    twilio(f"/notify/twilio/gather/{attempt.message_id}", {"Digits": "2", "CallSid": "CA1"})
    assert by_hand(incident) == [f"Escalated to the next tier by person {attempt.person_id} via voice."]
    assert [entry.summary["via"] for entry in audited("incident.escalate_now")] == ["voice"]


@pytest.mark.parametrize("digits", [{}, {"Digits": ""}, {"Digits": "7"}])
def test_no_key_or_another_key_repeats_the_menu_once_then_hangs_up(call, digits):
    incident, attempt = call
    path = f"/notify/twilio/gather/{attempt.message_id}"
    first = twilio(path, {"CallSid": "CA1", **digits}).content.decode()
    assert "<Gather" in first and "retry=1" in first and "Press 1 to acknowledge" in first
    second = twilio(path + "?retry=1", {"CallSid": "CA1", **digits}).content.decode()
    assert "<Gather" not in second and "<Hangup" in second and "not acknowledged" in second
    assert status(incident) == Incident.TRIGGERED
    assert timeline(incident, TimelineEntry.ACKNOWLEDGED) == []


def test_a_keypress_on_a_bad_signature_changes_nothing(call):
    incident, attempt = call
    answer = twilio(f"/notify/twilio/gather/{attempt.message_id}", {"Digits": "1"}, token="wrong")
    assert answer.status_code == 403
    assert status(incident) == Incident.TRIGGERED


def test_an_unknown_message_is_404(scene):
    assert twilio("/notify/twilio/voice/00000000-0000-4000-8000-000000000000", method="get").status_code == 404


# --- delivery status ----------------------------------------------------------------------------

def test_status_callbacks_need_the_signature_and_their_fields(scene):
    params = {"MessageSid": "SM-unknown", "MessageStatus": "delivered"}
    assert twilio("/notify/twilio/status", params, token="wrong").status_code == 403
    assert twilio("/notify/twilio/status", {"MessageSid": "SM1"}).status_code == 400
    assert twilio("/notify/twilio/status", params).status_code == 204
