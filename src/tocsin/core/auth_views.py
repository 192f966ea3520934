"""Sign-in with password and TOTP, sign-out, and the MFA step-up page."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import mfa, services
from .forms import CodeForm, LoginForm
from .lockout import locked_out_response
from .models import User

PENDING_USER = "tocsin_pending_user"
PENDING_AT = "tocsin_pending_at"
PENDING_NEXT = "tocsin_pending_next"
PENDING_SECONDS = 300


def safe_next(request, default="/"):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


@never_cache
def login_view(request):
    if request.user.is_authenticated:
        return redirect(safe_next(request))
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = authenticate(request, username=form.cleaned_data["username"], password=form.cleaned_data["password"])
        if getattr(request, "axes_locked_out", False):
            return locked_out_response(request)
        if user is None:
            form.add_error(None, "That username and password do not match an active account.")
        elif mfa.has_mfa(user):
            request.session[PENDING_USER] = user.pk
            request.session[PENDING_AT] = time.time()
            request.session[PENDING_NEXT] = safe_next(request)
            return redirect("login-mfa")
        else:
            login(request, user)
            return redirect(safe_next(request))
    return render(request, "core/login.html", {"form": form, "next": safe_next(request, "")})


@never_cache
def login_mfa_view(request):
    pending = request.session.get(PENDING_USER)
    started = request.session.get(PENDING_AT, 0)
    if not pending or time.time() - started > PENDING_SECONDS:
        messages.info(request, "Please sign in again.")
        return redirect(settings.LOGIN_URL)
    user = User.objects.filter(pk=pending, is_active=True).first()
    if user is None:
        return redirect(settings.LOGIN_URL)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = services.verify_second_factor(user, form.cleaned_data["code"], purpose="login")
        if device is None:
            form.add_error("code", "That code is not valid. Use the current code from your app, or a recovery code.")
        else:
            target = request.session.get(PENDING_NEXT) or "/"
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            mfa.mark_verified(request, device)
            return redirect(target)
    return render(request, "core/login_mfa.html", {"form": form})


@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect(settings.LOGIN_URL)


@never_cache
def step_up_view(request):
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    if not mfa.has_mfa(request.user):
        return redirect("account-mfa-enrol")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = services.verify_second_factor(request.user, form.cleaned_data["code"], purpose="step_up")
        if device is None:
            form.add_error("code", "That code is not valid.")
        else:
            mfa.mark_verified(request, device)
            return redirect(safe_next(request))
    return render(request, "core/step_up.html", {"form": form, "next": safe_next(request, "/")})
