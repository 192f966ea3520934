"""Permission guards for HTML views and API operations, backed by the same matrix: who is
acting, and which teams a team-scoped permission lets them change."""

import functools

from django.contrib.auth.decorators import login_required

from .audit import Actor
from .models import Team
from .permissions import ALL_TEAMS, Principal, require, teams_for


def principal(request):
    if not hasattr(request, "principal"):
        request.principal = Principal.load(request.user if request.user.is_authenticated else None)
    return request.principal


def actor(request):
    """The audit actor of a page view or an API call (the API's auth sets `request.principal`)."""
    return Actor.of(principal(request))


def teams_in_reach(request, perm):
    """The teams where the signed-in user holds the team-scoped `perm`, by name."""
    reach = teams_for(principal(request), perm)
    teams = Team.objects.order_by("name")
    return teams if reach == ALL_TEAMS else teams.filter(pk__in=reach)


def reaches_every_team(request, perm):
    return teams_for(principal(request), perm) == ALL_TEAMS


def require_for_team(request, perm, team):
    """403 (audited; the friendly page or JSON) unless the user holds `perm` for `team`."""
    require(principal(request), perm, team, target=request.path[:200])


def permission_required(perm):
    """Signed-in users only; those without `perm` get the friendly 403 page and an audit entry."""

    def decorate(view):
        @functools.wraps(view)
        @login_required
        def wrapper(request, *args, **kwargs):
            require(principal(request), perm, target=request.path[:200])
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
