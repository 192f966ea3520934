"""Shared pieces of the catalogue pages: the actor, the manage checks and the teams one may manage."""

from tocsin.core import audit
from tocsin.core.models import Team
from tocsin.core.permissions import ALL_TEAMS, can, require, teams_for
from tocsin.core.view_access import principal


def actor(request):
    return audit.Actor.user(request.user)


def manageable_teams(request):
    """The teams whose services the signed-in user may change."""
    reach = teams_for(principal(request), "catalog:manage")
    teams = Team.objects.order_by("name")
    return teams if reach == ALL_TEAMS else teams.filter(pk__in=reach)


def may_manage(request, service):
    return can(principal(request), "catalog:manage", service.owner_team_id)


def require_manage(request, team):
    """403 (audited) unless the user may change services of `team`."""
    require(principal(request), "catalog:manage", team, target=request.path[:200])


def may_manage_sites(request):
    """Sites and regions are shared by every team: only a reach over all teams changes them."""
    return can(principal(request), "catalog:manage")
