"""The verification pages: "Send a code" and "Enter the code" on a person's contact method, the
e-mail link (a GET only shows a confirmation, the POST verifies) and the TwiML a verification
call reads out."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods
from twilio.twiml.voice_response import VoiceResponse

from tocsin.core.permissions import require
from tocsin.core.view_access import actor, principal
from tocsin.directory.models import ContactMethod
from tocsin.directory.values import mask
from tocsin.directory.visibility import can_edit_person

from . import tokens, verification
from .views_ack import PostLimit, link_refused, private_page, too_many
from .views_twilio import signed

link_posts = PostLimit(20)  # per client IP and minute, like the acknowledgement links


def may_verify(request, method):
    """The person themself, or whoever may change their contact details."""
    who = principal(request)
    person = method.person
    if who.user is not None and person.user_id == who.user.pk:
        return True
    return can_edit_person(who, person)


def _method_or_404(method_id):
    method = ContactMethod.objects.select_related("person").filter(pk=method_id, person__isnull=False).first()
    if method is None:
        raise Http404("No such contact method.")
    return method


def _page(request, method, status=200, error=""):
    latest = verification.waiting(method)
    now = timezone.now()
    pending = verification.is_open(latest, now)
    return render(request, "notify/verify_method.html", {
        "method": method, "person": method.person, "masked": mask(method.kind, method.value),
        "pending": pending, "expires_at": latest.expires_at if pending else None, "error": error,
        "can_send": method.is_active and verification.CHANNEL_OF.get(method.kind) in verification.CHANNELS,
    }, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def method_page(request, method_id):
    method = _method_or_404(method_id)
    if not may_verify(request, method):
        require(principal(request), "contacts:write", target=request.path[:200])  # audits the refusal
    if request.method == "GET":
        return _page(request, method)
    now = timezone.now()
    if request.POST.get("action") == "send":
        try:
            sent = verification.start_verification(method, actor=actor(request), now=now)
        except ValidationError as exc:
            return _page(request, method, 400, "; ".join(m for ms in exc.message_dict.values() for m in ms))
        except verification.TooManyStarts as exc:
            response = _page(request, method, 429, str(exc))
            response["Retry-After"] = str(exc.retry_after)
            return response
        except verification.NotSent as exc:
            return _page(request, method, 502, str(exc))
        messages.success(request, f"A code is on its way to {sent.destination}.")
        return redirect("notify-verify-method", method_id=method.pk)
    if request.POST.get("action") == "confirm":
        try:
            verification.confirm_code(method, request.POST.get("code", ""), actor=actor(request), now=now)
        except ValidationError as exc:
            return _page(request, method, 400, "; ".join(m for ms in exc.message_dict.values() for m in ms))
        except verification.VerificationRefused as exc:
            return _page(request, method, exc.status, exc.reason)
        messages.success(request, "The contact method is verified.")
        return redirect("notify-verify-method", method_id=method.pk)
    return _page(request, method, 400, "Choose to send a code or to enter one.")


@require_http_methods(["GET", "HEAD", "POST"])
@csrf_protect
def link(request, token):
    now = timezone.now()
    if request.method == "POST":
        limited = too_many(request, link_posts)
        if limited:
            return limited
        try:
            found, _ = verification.link_verification(token)
            method = verification.confirm_link(token, actor=tokens.actor_for(found.method.person), now=now)
        except verification.VerificationRefused as refused:
            return link_refused(request, refused.reason, refused.status)
        return private_page(render(request, "notify/verify_done.html", {"masked": mask(method.kind, method.value)}))
    try:
        found = verification.check_link(token, now=now)
    except verification.VerificationRefused as refused:
        return link_refused(request, refused.reason, refused.status)
    method = found.method
    return private_page(render(request, "notify/verify_confirm.html", {"masked": mask(method.kind, method.value)}))


@require_http_methods(["GET", "POST"])
@signed
def voice(request, ticket):
    response = VoiceResponse()
    code = verification.call_code(ticket, now=timezone.now())
    if code is None:
        response.say("This verification code is no longer valid. Send a new one from Tocsin. Goodbye.")
    else:
        spoken = ", ".join(code)
        response.say(f"Your Tocsin verification code is: {spoken}.")
        response.pause(length=1)
        response.say(f"Again, your code is: {spoken}. Goodbye.")
    response.hangup()
    return HttpResponse(str(response), content_type="text/xml; charset=utf-8")
