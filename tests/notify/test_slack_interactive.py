"""Slack's Acknowledge and Resolve buttons (F4): signed with the app's signing secret (v0), the
Slack user matched to a person by a chat contact method."""

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest
from django.test import Client

from tocsin.directory.models import ContactMethod
from tocsin.incidents.models import Incident, TimelineEntry

from .ack_fixtures import Scene, audited, timeline

SECRET = "slack-signing-secret-for-tests"
PATH = "/notify/slack/interactive"


@pytest.fixture
def scene(make_team, person, make_user, monkeypatch):
    monkeypatch.setenv("TOCSIN_SLACK_SIGNING_SECRET", SECRET)
    built = Scene(make_team, person, make_user)
    built.method(built.ana, ContactMethod.CHAT, "U0ANA")
    return built


def payload(user, action_id, value):
    return {"type": "block_actions", "user": {"id": user, "username": "someone"},
            "actions": [{"action_id": action_id, "value": str(value), "type": "button"}],
            "response_url": "https://hooks.slack.invalid/actions/1"}


def press(body, *, secret=SECRET, stamp=None, signature=None):
    raw = urlencode({"payload": json.dumps(body)}) if isinstance(body, dict) else body
    stamp = str(int(time.time()) if stamp is None else stamp)
    if signature is None:
        signature = "v0=" + hmac.new(secret.encode(), f"v0:{stamp}:{raw}".encode(), hashlib.sha256).hexdigest()
    return Client().post(PATH, raw, content_type="application/x-www-form-urlencoded",
                         headers={"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature})


def status(incident):
    return Incident.objects.get(pk=incident.pk).status


def test_a_signed_press_acknowledges_as_the_linked_person(scene):
    incident = scene.trigger()
    answer = press(payload("U0ANA", "tocsin_ack", incident.pk))
    assert answer.status_code == 200
    assert answer.json() == {"response_type": "ephemeral", "replace_original": False,
                             "text": f"{incident.reference} acknowledged by you."}
    assert status(incident) == Incident.ACKNOWLEDGED
    assert timeline(incident, TimelineEntry.ACKNOWLEDGED) == ["Acknowledged by ana via slack."]
    assert press(payload("U0ANA", "tocsin_ack", incident.pk)).json()["text"] == f"{incident.reference} was already acknowledged."


def test_resolve_button(scene):
    incident = scene.trigger()
    assert press(payload("U0ANA", "tocsin_resolve", incident.pk)).status_code == 200
    assert status(incident) == Incident.RESOLVED
    assert timeline(incident, TimelineEntry.RESOLVED) == ["Resolved by ana via slack."]


@pytest.mark.parametrize("bad", ["wrong secret", "stale", "future", "garbled", "missing"])
def test_a_bad_or_stale_signature_is_401_and_changes_nothing(scene, bad):
    incident = scene.trigger()
    body = payload("U0ANA", "tocsin_ack", incident.pk)
    if bad == "wrong secret":
        answer = press(body, secret="another-secret")
    elif bad == "stale":
        answer = press(body, stamp=int(time.time()) - 6 * 60)
    elif bad == "future":
        answer = press(body, stamp=int(time.time()) + 6 * 60)
    elif bad == "garbled":
        answer = press(body, signature="v0=" + "0" * 64)
    else:
        answer = Client().post(PATH, {"payload": json.dumps(body)})
    assert answer.status_code == 401 and answer.json()["detail"]
    assert status(incident) == Incident.TRIGGERED


def test_a_signature_over_another_body_is_refused(scene):
    incident = scene.trigger()
    stamp = str(int(time.time()))
    raw = urlencode({"payload": json.dumps(payload("U0ANA", "tocsin_ack", incident.pk))})
    other = urlencode({"payload": json.dumps(payload("U0ANA", "tocsin_resolve", incident.pk))})
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{stamp}:{other}".encode(), hashlib.sha256).hexdigest()
    assert press(raw, stamp=stamp, signature=signature).status_code == 401
    assert status(incident) == Incident.TRIGGERED


def test_without_a_signing_secret_everything_is_refused(scene, monkeypatch):
    incident = scene.trigger()
    monkeypatch.delenv("TOCSIN_SLACK_SIGNING_SECRET")
    assert press(payload("U0ANA", "tocsin_ack", incident.pk)).status_code == 401


def test_an_unlinked_slack_user_is_told_to_link_and_audited(scene):
    incident = scene.trigger()
    answer = press(payload("U0NOBODY", "tocsin_ack", incident.pk))
    assert answer.status_code == 200 and answer.json()["text"].startswith("Link your Slack account in Tocsin first")
    assert len(audited("notify.slack_user_not_linked")) == 1
    assert status(incident) == Incident.TRIGGERED


def test_a_security_incident_answers_only_to_the_people_it_paged(scene):
    incident = scene.trigger(security_category="data-breach")
    scene.method(scene.carl, ContactMethod.CHAT, "U0CARL")
    assert press(payload("U0CARL", "tocsin_ack", incident.pk)).json()["text"] == "Tocsin knows no such incident."
    assert status(incident) == Incident.TRIGGERED
    press(payload("U0ANA", "tocsin_ack", incident.pk))
    assert status(incident) == Incident.ACKNOWLEDGED


@pytest.mark.parametrize("body", [
    "payload=not-json",
    urlencode({"payload": json.dumps({"user": {"id": "U0ANA"}, "actions": []})}),
    urlencode({"payload": json.dumps(payload("U0ANA", "tocsin_delete", 1))}),
    urlencode({"payload": json.dumps(payload("U0ANA", "tocsin_ack", "one"))}),
    urlencode({"payload": json.dumps(["a list"])}),
])
def test_malformed_payloads_are_400(scene, body):
    incident = scene.trigger()
    answer = press(body)
    assert answer.status_code == 400 and "payload" in answer.json()["detail"]
    assert status(incident) == Incident.TRIGGERED


def test_someone_in_the_channel_who_was_not_paged_and_does_not_respond_for_the_team_is_refused(scene):
    incident = scene.trigger()
    scene.method(scene.carl, ContactMethod.CHAT, "U0CARL")
    answer = press(payload("U0CARL", "tocsin_resolve", incident.pk))
    assert answer.status_code == 200 and "You may not resolve" in answer.json()["text"]
    assert status(incident) == Incident.TRIGGERED
    assert audited("notify.slack_action_refused")
