"""TOTP multi-factor authentication: enrolment policy, code checks and the step-up guard."""

import functools
import io
import time
from urllib.parse import urlencode, urlsplit

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from .middleware import expects_json
from .models import RoleAssignment, RolePolicy

SESSION_KEY = "tocsin_mfa_at"


def confirmed_totp(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_mfa(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def required_for(user):
    """True if any role the user holds demands MFA."""
    roles = RoleAssignment.objects.filter(user=user).values_list("role", flat=True)
    return RolePolicy.objects.filter(role__in=roles, require_mfa=True).exists()


def must_enrol(user):
    return required_for(user) and not has_mfa(user)


def check_code(user, code):
    """Return the device that accepts `code` (a TOTP or a single-use recovery code), else None.
    django-otp throttles repeated failures and refuses a TOTP code that was already used."""
    code = (code or "").strip().replace(" ", "")
    if not code:
        return None
    devices = list(TOTPDevice.objects.filter(user=user, confirmed=True))
    devices += list(StaticDevice.objects.filter(user=user, confirmed=True))
    for device in devices:
        if device.verify_is_allowed()[0] and device.verify_token(code):
            return device
    return None


def mark_verified(request, device):
    """Record a successful second factor in the session: login verification and step-up freshness."""
    otp_login(request, device)
    request.session[SESSION_KEY] = time.time()


def is_fresh(request, minutes=None):
    minutes = settings.TOCSIN_STEP_UP_MINUTES if minutes is None else minutes
    verified_at = request.session.get(SESSION_KEY)
    return verified_at is not None and time.time() - verified_at <= minutes * 60


def require_step_up(view=None, *, minutes=None):
    """Guard a sensitive view: it runs only if the user passed a TOTP check in the last N minutes.
    Browsers are sent to the step-up page and back; API clients get 403 with a clear reason."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(request, *args, **kwargs):
            if is_fresh(request, minutes):
                return func(request, *args, **kwargs)
            if expects_json(request):
                return JsonResponse(
                    {"detail": "A fresh MFA step-up is required for this action.", "code": "step_up_required"},
                    status=403,
                )
            target = "account-mfa-enrol" if not has_mfa(request.user) else "account-step-up"
            response = redirect(target)
            response["Location"] += "?" + urlencode({"next": _return_path(request)})
            return response

        return wrapper

    return decorate(view) if view is not None else decorate


def _return_path(request):
    """Where to go after the step-up. The step-up ends with a redirect, which is a GET, so a
    guarded POST cannot be replayed: send the user back to the page the form was on, to submit
    it again now that the code is fresh."""
    if request.method in {"GET", "HEAD"}:
        return request.get_full_path()
    referer = urlsplit(request.headers.get("Referer", ""))
    if referer.netloc == request.get_host() and referer.path.startswith("/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return request.get_full_path()  # views that also answer GET show their form there


def qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()
