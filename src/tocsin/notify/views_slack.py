"""Slack's interactivity callback: the Acknowledge and Resolve buttons of an incident message.
Requests are signed with the app's signing secret (v0), which stands in for the CSRF token."""

import hashlib
import hmac
import json
import os
import time

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tocsin.core import audit
from tocsin.core.permissions import Principal, can
from tocsin.directory.models import ContactMethod
from tocsin.directory.values import index_for, normalise
from tocsin.incidents.models import Incident

from . import tokens

MAX_SKEW_SECONDS = 5 * 60  # Slack's own advice: older requests may be replays
MAX_REQUEST_BYTES = 64 * 1024
ACTIONS = {"tocsin_ack": tokens.ACKNOWLEDGE, "tocsin_resolve": tokens.RESOLVE}
NOT_LINKED = "Link your Slack account in Tocsin first: add your Slack member ID as a chat contact method."
DONE = {tokens.ACKNOWLEDGE: "acknowledged", tokens.RESOLVE: "resolved"}


def signing_secret():
    return os.environ.get("TOCSIN_SLACK_SIGNING_SECRET", "")


def signature_problem(headers, body, now=None):
    """'' when the request is Slack's (v0 HMAC-SHA256 of `v0:{timestamp}:{body}`), else why not."""
    secret = signing_secret()
    if not secret:
        return "Slack interactivity is not configured (TOCSIN_SLACK_SIGNING_SECRET)."
    stamp, signature = headers.get("X-Slack-Request-Timestamp", ""), headers.get("X-Slack-Signature", "")
    if not stamp or not signature:
        return "X-Slack-Request-Timestamp and X-Slack-Signature are required."
    try:
        sent = int(stamp)
    except ValueError:
        return "X-Slack-Request-Timestamp is not a number."
    if abs((now if now is not None else time.time()) - sent) > MAX_SKEW_SECONDS:
        return "X-Slack-Request-Timestamp is more than five minutes away from now."
    base = b"v0:" + stamp.encode("ascii", "replace") + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("ascii", "replace")):
        return "X-Slack-Signature does not match."
    return ""


def _reply(text, status=200):
    return JsonResponse({"response_type": "ephemeral", "replace_original": False, "text": text}, status=status)


def _error(status, detail):
    return JsonResponse({"detail": detail}, status=status)


def _person(slack_user):
    try:
        digest = index_for(ContactMethod.CHAT, normalise(ContactMethod.CHAT, slack_user))
    except ValidationError:
        return None
    method = (ContactMethod.objects.filter(value_index=digest, kind=ContactMethod.CHAT, is_active=True,
                                           person__isnull=False, person__is_active=True)
              .select_related("person__user").order_by("pk").first())
    return method.person if method else None


def _read(request):
    """(slack user id, action, incident id) from the form's `payload`, or raise ValueError naming the problem."""
    try:
        payload = json.loads(request.POST.get("payload") or "")
    except ValueError:
        raise ValueError("payload must be the JSON of a Slack interaction.") from None
    if not isinstance(payload, dict):
        raise ValueError("payload must be a JSON object.")
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    actions = payload.get("actions") if isinstance(payload.get("actions"), list) else []
    if not isinstance(user.get("id"), str) or not user["id"]:
        raise ValueError("payload.user.id is required.")
    if not actions or not isinstance(actions[0], dict):
        raise ValueError("payload.actions must hold the button pressed.")
    action = ACTIONS.get(actions[0].get("action_id"))
    if action is None:
        raise ValueError(f"payload.actions[0].action_id must be one of {', '.join(ACTIONS)}.")
    value = str(actions[0].get("value", ""))
    if not value.isdigit() or len(value) > 18:
        raise ValueError("payload.actions[0].value must be an incident id.")
    return user["id"][:64], action, int(value)


def _may_respond(person, incident):
    if person.user is None or not person.user.is_active:
        return False
    return can(Principal.load(person.user), "incidents:respond", incident.service.owner_team_id)


@csrf_exempt
@require_POST
def interactive(request):
    if len(request.body) > MAX_REQUEST_BYTES:
        return _error(400, f"The request body exceeds {MAX_REQUEST_BYTES} bytes.")
    problem = signature_problem(request.headers, request.body)
    if problem:
        return _error(401, problem)
    try:
        slack_user, action, incident_id = _read(request)
    except ValueError as exc:
        return _error(400, str(exc))
    person = _person(slack_user)
    if person is None:
        audit.record(audit.Actor.anonymous("slack"), "notify.slack_user_not_linked", summary={"channel": "slack"})
        return _reply(NOT_LINKED)
    incident = Incident.objects.select_related("service").filter(pk=incident_id).first()
    # A security incident answers only to the people it paged; to anyone else it does not exist.
    if incident is None or (incident.security and not tokens.was_paged(person, incident)):
        return _reply("Tocsin knows no such incident.")
    # A channel's buttons are seen by everyone in it: only those paged, or allowed to respond
    # for the service's team, may press them.
    if not (tokens.was_paged(person, incident) or _may_respond(person, incident)):
        audit.record(tokens.actor_for(person), "notify.slack_action_refused", incident,
                     summary={"action": action, "channel": "slack"})
        return _reply(f"You may not {action} {incident.reference}: you were not paged for it and do not "
                      "respond for its team.")
    try:
        changed = tokens.act(incident, action, person=person, via="slack", now=timezone.now())
    except ValidationError:
        return _reply(f"{incident.reference} is already resolved.")
    if not changed:
        return _reply(f"{incident.reference} was already {DONE[action]}.")
    return _reply(f"{incident.reference} {DONE[action]} by you.")
