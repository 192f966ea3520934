"""Twilio's webhooks: SMS replies, the TwiML of voice pages and their keypresses, and delivery
status. Every request must carry a valid X-Twilio-Signature; it stands in for the CSRF token."""

import functools
import json
import logging
import os
import re

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather, VoiceResponse

from tocsin.core import audit
from tocsin.directory import services as directory
from tocsin.directory.models import ContactMethod
from tocsin.directory.values import index_for, normalise
from tocsin.incidents.models import Incident

from . import links, tokens
from .providers.twilio import twiml_for_call
from .models import Attempt, Provider

log = logging.getLogger("tocsin.notify")
MAX_REQUEST_BYTES = 64 * 1024  # Twilio's forms are a few hundred bytes
MAX_SMS_BODY = 1600  # Twilio's own limit for one message
PHONE_KINDS = (ContactMethod.SMS, ContactMethod.VOICE)

NOT_REGISTERED = "This number is not registered with Tocsin."
HELP = ("Tocsin: reply ACK to acknowledge, ESC to escalate, RES to resolve; add the incident number "
        "when you have several (ACK 42). STOP ends SMS, START resumes it.")
NOT_UNDERSTOOD = "Sorry, that was not understood. "
MENU = "Press 1 to acknowledge, 2 to escalate."
GOODBYE = "No valid key was pressed. The incident is not acknowledged. Goodbye."

# Words of an SMS reply, and what they ask for.
COMMANDS = {
    "1": tokens.ACKNOWLEDGE, "ack": tokens.ACKNOWLEDGE, "acknowledge": tokens.ACKNOWLEDGE,
    "2": tokens.ESCALATE, "esc": tokens.ESCALATE, "escalate": tokens.ESCALATE,
    "res": tokens.RESOLVE, "resolve": tokens.RESOLVE,
    "stop": "stop", "start": "start", "help": "help",
}
DONE = {tokens.ACKNOWLEDGE: "acknowledged", tokens.ESCALATE: "escalated to the next tier",
        tokens.RESOLVE: "resolved"}
WORD = {tokens.ACKNOWLEDGE: "ACK", tokens.ESCALATE: "ESC", tokens.RESOLVE: "RES"}


class Malformed(Exception):
    pass


def auth_token():
    """TOCSIN_TWILIO_AUTH_TOKEN, else the auth token of the enabled Twilio provider ('' if none)."""
    token = os.environ.get("TOCSIN_TWILIO_AUTH_TOKEN", "")
    if token:
        return token
    for provider in Provider.objects.filter(kind=Provider.TWILIO, enabled=True).order_by("priority", "pk"):
        try:
            secrets = json.loads(provider.secrets or "{}")
        except ValueError:
            continue
        if isinstance(secrets, dict) and secrets.get("auth_token"):
            return str(secrets["auth_token"])
    return ""


def _plain(status, detail):
    return HttpResponse(detail, status=status, content_type="text/plain; charset=utf-8")


def signed(view):
    """Refuse, before anything else happens, what Twilio did not sign (403) or what is too big (400).
    The signature covers the public URL Twilio called, so it is rebuilt from TOCSIN_BASE_URL."""

    @csrf_exempt
    @functools.wraps(view)
    def checked(request, *args, **kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _plain(400, "Content-Length is not a number.")
        if length > MAX_REQUEST_BYTES or len(request.body) > MAX_REQUEST_BYTES:
            return _plain(400, f"The request body exceeds {MAX_REQUEST_BYTES} bytes.")
        token, signature = auth_token(), request.headers.get("X-Twilio-Signature", "")
        url = links.absolute(request.get_full_path())
        params = request.POST if request.method == "POST" else {}
        if not token or not signature or not RequestValidator(token).validate(url, params, signature):
            log.warning("refused a Twilio webhook without a valid signature", extra={"route": request.path})
            return _plain(403, "The X-Twilio-Signature is missing or does not match.")
        try:
            return view(request, *args, **kwargs)
        except Malformed as problem:
            return _plain(400, str(problem))

    return checked


def _twiml(response):
    return HttpResponse(str(response), content_type="text/xml; charset=utf-8")


def _sms(text):
    response = MessagingResponse()
    response.message(text)
    return _twiml(response)


# --- SMS replies ----------------------------------------------------------------------------------


def parse(body):
    """(command, number or None) from an SMS reply such as "ack", "ACK 42", "#42 ack" or "1";
    (None, None) when it is not understood."""
    words = re.sub(r"#\s*", " #", (body or "").lower()).split()
    commands = [w for w in words if w in COMMANDS and not w.isdigit()]
    if len(commands) > 1:
        return None, None
    if commands:
        command = COMMANDS[commands[0]]
        rest = [w for w in words if w != commands[0]]
    elif words and words[0] in ("1", "2"):
        command, rest = COMMANDS[words[0]], words[1:]
    else:
        return None, None
    if not rest:
        return command, None
    if len(rest) == 1 and re.fullmatch(r"#?\d{1,9}", rest[0]) and command in WORD:
        return command, int(rest[0].lstrip("#"))
    return None, None


def methods_of_number(number):
    """The active people's phone methods with this number, through the blind index (any state,
    so that START finds a stopped one)."""
    try:
        digest = index_for(ContactMethod.SMS, normalise(ContactMethod.SMS, number))
    except ValidationError:
        return []
    return list(ContactMethod.objects.filter(value_index=digest, kind__in=PHONE_KINDS, person__isnull=False,
                                             person__is_active=True)
                .select_related("person__user").order_by("-is_active", "kind", "pk"))


def _switch_sms(person, methods, active):
    """STOP and START: the sender's SMS methods with this number go off or on, through the
    directory's own service (history and audit included)."""
    actor = tokens.actor_for(person)
    for method in methods:
        if method.kind == ContactMethod.SMS and method.person_id == person.pk and method.is_active != active:
            directory.update_method(method, actor=actor, source="system", is_active=active)
    if active:
        return "Tocsin: SMS is on again for this number. Reply HELP for the commands."
    return "Tocsin: you will get no more SMS at this number. Reply START to resume."


def _incident_for(person, command, number):
    """The incident an SMS command means, or the reply that says why there is none."""
    if number is not None:
        incident = Incident.objects.filter(number=number).first()
        if incident is None or not tokens.was_paged(person, incident):
            # The same answer whether or not #n exists: a phone is not a way to probe incidents.
            return None, f"Tocsin: you were not paged for #{number}; open Tocsin to act on it."
        if not incident.is_open:
            return None, f"Tocsin: #{number} is already resolved."
        return incident, ""
    pages = tokens.open_pages(person)
    if not pages:
        return None, "Tocsin: you have no open pages."
    if len(pages) > 1:
        word = WORD[command]
        choices = " or ".join(f"{word} {incident.number}" for incident in pages[:5])
        return None, f"Tocsin: you have {len(pages)} open pages. Reply {choices}."
    return pages[0], ""


def answer_sms(person, methods, body, now):
    command, number = parse(body)
    if command is None:
        return NOT_UNDERSTOOD + HELP
    if command == "help":
        return HELP
    if command in ("stop", "start"):
        return _switch_sms(person, methods, command == "start")
    incident, why = _incident_for(person, command, number)
    if incident is None:
        return why
    try:
        changed = tokens.act(incident, command, person=person, via="sms", now=now)
    except ValidationError:
        return f"Tocsin: {incident.reference} is already resolved."
    if not changed:
        return f"Tocsin: {incident.reference} was already {DONE[command]}."
    return f"Tocsin: {incident.reference} {DONE[command]}."


@require_POST
@signed
def sms(request):
    sender, body = request.POST.get("From"), request.POST.get("Body")
    if not sender or body is None:
        raise Malformed("From and Body are required.")
    if len(body) > MAX_SMS_BODY:
        raise Malformed(f"Body exceeds {MAX_SMS_BODY} characters.")
    methods = methods_of_number(sender)
    if not methods:
        # No number in the entry: the audit chain keeps no personal data.
        audit.record(audit.Actor.anonymous("sms"), "notify.sms_from_unknown_number", summary={"channel": "sms"})
        return _sms(NOT_REGISTERED)
    person = _sender(methods)
    return _sms(answer_sms(person, [m for m in methods if m.person_id == person.pk], body, timezone.now()))


def _sender(methods):
    """Who texted: with a number several people share (an on-call handset), the one of them
    with open pages, if exactly one has any."""
    people = list({m.person_id: m.person for m in methods}.values())
    if len(people) > 1:
        paged = [p for p in people if tokens.open_pages(p)]
        if len(paged) == 1:
            return paged[0]
    return people[0]


# --- voice ----------------------------------------------------------------------------------------


def _attempt(message_id):
    return Attempt.objects.filter(message_id=message_id).select_related("incident", "person__user").first()


def _gather_url(message_id, retry=False):
    path = reverse("notify-twilio-gather", args=[message_id])
    return links.absolute(path + ("?retry=1" if retry else ""))


def _call_twiml(text, gather_url):
    return str(twiml_for_call(text, gather_url))


@require_http_methods(["GET", "POST"])
@signed
def voice(request, message_id):
    attempt = _attempt(message_id)
    if attempt is None:
        return _plain(404, "No such message.")
    return HttpResponse(_call_twiml(attempt.body or attempt.subject, _gather_url(message_id)),
                        content_type="text/xml; charset=utf-8")


@require_POST
@signed
def gather(request, message_id):
    attempt = _attempt(message_id)
    if attempt is None:
        return _plain(404, "No such message.")
    digits = (request.POST.get("Digits") or "").strip()
    response = VoiceResponse()
    command = {"1": tokens.ACKNOWLEDGE, "2": tokens.ESCALATE}.get(digits)
    if command is None:
        # Anything else, or nothing: the menu once more, then goodbye. Silence never acknowledges.
        if request.GET.get("retry"):
            response.say(GOODBYE)
        else:
            menu = Gather(num_digits=1, action=_gather_url(message_id, retry=True), method="POST")
            menu.say(f"{attempt.body or attempt.subject} {MENU}".strip())
            response.append(menu)
            response.say(GOODBYE)
        response.hangup()
        return _twiml(response)
    try:
        changed = tokens.act(attempt.incident, command, person=attempt.person, via="voice", now=timezone.now())
    except ValidationError:
        response.say("This incident is already resolved. Goodbye.")
    else:
        if command == tokens.ACKNOWLEDGE:
            response.say("Acknowledged. Thank you." if changed else "It was already acknowledged. Thank you.")
        else:
            response.say("Escalating to the next tier now. Goodbye.")
    response.hangup()
    return _twiml(response)


# --- delivery status ------------------------------------------------------------------------------


@require_POST
@signed
def status(request):
    sid = request.POST.get("MessageSid") or request.POST.get("CallSid") or ""
    state = request.POST.get("MessageStatus") or request.POST.get("CallStatus") or ""
    if not sid or not state:
        raise Malformed("MessageSid and MessageStatus (or CallSid and CallStatus) are required.")
    from .sending import record_provider_status
    from .synthetic import provider_status as synthetic_status

    now = timezone.now()
    if not record_provider_status(sid[:120], state[:40], (request.POST.get("ErrorCode") or "")[:20], now):
        synthetic_status(sid[:120], state[:40], at=now)  # not a page's: perhaps a synthetic check's
    return HttpResponse(status=204)
