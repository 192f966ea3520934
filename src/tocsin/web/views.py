"""The home page: what the signed-in user can do, filled in by later features."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from tocsin.core import mfa
from tocsin.core.permissions import ROLES, teams_for, PERMISSIONS
from tocsin.core.view_access import principal


@login_required
def home(request):
    who = principal(request)
    return render(
        request,
        "web/home.html",
        {
            "roles": [(ROLES[role], team) for role, team in who.assignments],
            "permissions": [name for name in PERMISSIONS if teams_for(who, name)],
            "mfa_enabled": mfa.has_mfa(request.user),
        },
    )
