"""The signed-in user's own account: MFA enrolment, recovery codes and API tokens."""

from base64 import b32encode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import audit, mfa, services
from .form_errors import apply_errors
from .forms import CodeForm, TokenForm
from .models import ApiToken
from .permissions import scope_problems
from .view_access import principal

ENROL_DEVICE = "tocsin_enrol_device"


def _actor(request):
    return audit.Actor.user(request.user)


@login_required
def account(request):
    return render(
        request,
        "core/account.html",
        {
            "mfa_enabled": mfa.has_mfa(request.user),
            "mfa_required": mfa.required_for(request.user),
            "recovery_left": StaticToken.objects.filter(device__user=request.user).count(),
            "tokens": ApiToken.objects.filter(user=request.user),
            "token_form": TokenForm(),
            "roles": principal(request).assignments,
        },
    )


@never_cache
@login_required
def mfa_enrol(request):
    if mfa.has_mfa(request.user):
        # Replacing a factor needs the current one: a borrowed session must not swap in its own.
        return _replace_factor(request)
    return _enrol(request)


@mfa.require_step_up
def _replace_factor(request):
    return _enrol(request)


def _enrol(request):
    device = None
    device_id = request.session.get(ENROL_DEVICE)
    if device_id:
        device = TOTPDevice.objects.filter(pk=device_id, user=request.user, confirmed=False).first()
    if device is None:
        device = services.begin_totp_enrolment(request.user)
        request.session[ENROL_DEVICE] = device.pk
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = services.confirm_totp(request.user, device, form.cleaned_data["code"], actor=_actor(request))
        if codes is None:
            form.add_error("code", "That code does not match. Check the time on your phone and try the next code.")
        else:
            del request.session[ENROL_DEVICE]
            device.refresh_from_db()
            mfa.mark_verified(request, device)
            return render(request, "core/recovery_codes.html", {"codes": codes, "first_time": True})
    return render(
        request,
        "core/mfa_enrol.html",
        {
            "form": form,
            "qr": mfa.qr_svg(device.config_url),
            "secret": b32encode(device.bin_key).decode().rstrip("="),
            "replacing": mfa.has_mfa(request.user),
        },
    )


@require_POST
@login_required
@mfa.require_step_up
def regenerate_recovery_codes(request):
    codes = services.regenerate_recovery_codes(request.user, actor=_actor(request))
    return render(request, "core/recovery_codes.html", {"codes": codes, "first_time": False})


@require_POST
@login_required
def create_token(request):
    form = TokenForm(request.POST)
    if form.is_valid():
        problems = scope_problems(principal(request), form.cleaned_data["scopes"], stepped_up=mfa.is_fresh(request))
        for problem in problems:
            form.add_error("scopes", problem)
    if form.is_valid():
        try:
            token, secret = services.issue_token(
                request.user, actor=_actor(request), name=form.cleaned_data["name"],
                expires_days=form.cleaned_data["expires_days"], scopes=form.cleaned_data["scopes"],
            )
        except services.ValidationError as exc:
            apply_errors(form, exc)
        else:
            return render(request, "core/token_created.html", {"token": token, "secret": secret})
    for error in form.errors.values():
        messages.error(request, error.as_text())
    return redirect("account")


@require_POST
@login_required
def revoke_token(request, token_id):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    services.revoke_token(token, actor=_actor(request))
    messages.success(request, f"Token '{token.name}' is revoked.")
    return redirect("account")
