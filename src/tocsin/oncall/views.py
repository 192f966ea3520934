"""Shared pieces of the schedule pages: the acting user, finding a schedule, and who may change it."""

from datetime import datetime

from django.shortcuts import get_object_or_404, render
from django.utils.dateparse import parse_datetime

from tocsin.core import audit
from tocsin.core.models import Team
from tocsin.core.permissions import ALL_TEAMS, can, require, teams_for
from tocsin.core.view_access import principal

from .models import Schedule


def actor(request):
    return audit.Actor.of(principal(request))


def schedule_or_404(slug):
    return get_object_or_404(Schedule.objects.select_related("team"), slug=slug)


def may_manage(request, schedule):
    """Schedules without a team are changed only by those whose reach covers every team."""
    return can(principal(request), "oncall:manage", schedule.team_id)


def require_manage(request, team):
    """403 (audited, the friendly page) unless the user may change schedules of `team`."""
    require(principal(request), "oncall:manage", team, target=request.path[:200])


def manageable_teams(request):
    reach = teams_for(principal(request), "oncall:manage")
    teams = Team.objects.order_by("name")
    return teams if reach == ALL_TEAMS else teams.filter(pk__in=reach)


def reaches_every_team(request):
    return teams_for(principal(request), "oncall:manage") == ALL_TEAMS


def bad_request(request, detail):
    return render(request, "web/error.html", {"status": 400, "detail": detail}, status=400)


def instant_param(request, name):
    """An aware instant from the query string (as the grid's links write them), or None."""
    raw = request.GET.get(name, "")
    try:
        value = parse_datetime(raw) if raw else None
    except ValueError:
        return None
    return value if isinstance(value, datetime) and value.tzinfo is not None else None
