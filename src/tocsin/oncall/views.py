"""Shared pieces of the schedule pages: finding a schedule, who may change it, and reading the
grid's links (a shift's person and bounds) into the override and swap forms."""

from datetime import datetime

from django.shortcuts import get_object_or_404, render
from django.utils.dateparse import parse_datetime

from tocsin.core.permissions import can
from tocsin.core.view_access import principal
from tocsin.directory.models import Person

from .forms import local_input, object_id
from .models import Schedule


def schedule_or_404(slug):
    return get_object_or_404(Schedule.objects.select_related("team"), slug=slug)


def may_manage(request, schedule):
    """Schedules without a team are changed only by those whose reach covers every team."""
    return can(principal(request), "oncall:manage", schedule.team_id)


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


def prefill(request, tz):
    """What a grid link carries (`person`, `start`, `end`): the active person it names or None,
    and the shift's bounds as initial form values in `tz`. Anything malformed is ignored."""
    ident = object_id(request.GET.get("person", ""))
    person = Person.objects.filter(pk=ident, is_active=True).first() if ident else None
    start, end = instant_param(request, "start"), instant_param(request, "end")
    times = {}
    if start and end and end > start:
        times = {"starts_at": local_input(start, tz), "ends_at": local_input(end, tz)}
    return person, times
