"""The home page: the live dashboard (open incidents, who is on call now) and what the user can do."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from tocsin.core import mfa
from tocsin.core.permissions import PERMISSIONS, ROLES, can, teams_for
from tocsin.core.view_access import permission_required, principal

from . import dashboard


@login_required
def home(request):
    who = principal(request)
    now = timezone.now()
    return render(
        request,
        "web/home.html",
        {
            "board": dashboard.open_incidents(now, request.user) if can(who, "incidents:read") else None,
            "oncall": dashboard.oncall_now(now) if can(who, "oncall:read") else None,
            "delivery": dashboard.notification_health(now) if can(who, "incidents:read") else None,
            "now": now,
            "roles": [(ROLES[role], team) for role, team in who.assignments],
            "permissions": [name for name in PERMISSIONS if teams_for(who, name)],
            "mfa_enabled": mfa.has_mfa(request.user),
        },
    )


@permission_required("incidents:read")
def dashboard_fragment(request):
    """The open-incidents table alone, which the page swaps in when the event stream says so."""
    response = render(request, "web/_dashboard_incidents.html", {"board": dashboard.open_incidents(timezone.now(), request.user)})
    response["Cache-Control"] = "no-store"
    return response
