"""The schedule page: the week or month grid, who is on call now and why, warnings and history."""

import calendar
from datetime import date, timedelta

from django.shortcuts import render
from django.utils import timezone

from tocsin.core.timezones import zone
from tocsin.core.view_access import permission_required
from tocsin.directory.models import Person

from . import selectors, timeline, timeline_view
from .models import ShiftSwap
from .rotation import parse_restrictions
from .views import bad_request, may_manage, schedule_or_404
from .wallclock import local

VIEWS = ("week", "month")


def _window(view, anchor):
    """The first local day shown, how many days, and the first days before and after."""
    if view == "week":
        first = anchor - timedelta(days=anchor.weekday())
        return first, 7, first - timedelta(days=7), first + timedelta(days=7)
    first = anchor.replace(day=1)
    count = calendar.monthrange(first.year, first.month)[1]
    return first, count, (first - timedelta(days=1)).replace(day=1), first + timedelta(days=count)


def _layers(schedule):
    layers = list(schedule.layers.prefetch_related("participants__person", "participants__role"))
    for layer in layers:
        layer.windows = [w.label() for w in parse_restrictions(layer.restrictions)]
    return layers


def _plans(schedule, days, now):
    """The plan and People for the grid and for now and the next 14 days, loaded once when one
    window covers both; a grid far from today is loaded apart, since an imported calendar is
    expanded at most a year from a window's start."""
    start, end = timeline_view.window(days)
    ahead = now + selectors.GAP_LOOKAHEAD
    if max(end, ahead) - min(start, now) < selectors.MAX_WINDOW:
        both = selectors.plan_of(schedule, min(start, now), max(end, ahead))
        return both, both
    return selectors.plan_of(schedule, start, end), selectors.plan_of(schedule, now, ahead)


def _now(schedule, plan, people, now, layer_names):
    """Who is on call now, with why, and the gaps in the next 14 days."""
    entries = selectors.oncall_in_plan(schedule, plan, people, now)
    _, gaps = timeline.timeline(plan, now, now + selectors.GAP_LOOKAHEAD, people)
    return [(entry, timeline_view.describe(entry, layer_names)) for entry in entries], gaps


@permission_required("oncall:read")
def schedule_page(request, slug):
    schedule = schedule_or_404(slug)
    tz = zone(schedule.time_zone)
    now = timezone.now()
    view = request.GET.get("view", "week")
    if view not in VIEWS:
        return bad_request(request, f"view: '{view[:20]}' is not a view; use week or month.")
    raw = request.GET.get("start", "")
    try:
        anchor = date.fromisoformat(raw) if raw else local(now, tz).date()
    except ValueError:
        return bad_request(request, f"start: '{raw[:20]}' is not a date as YYYY-MM-DD.")
    if not date(1971, 1, 1) <= anchor <= date(9998, 1, 1):
        return bad_request(request, "start: the date is out of range.")
    first, count, before, after = _window(view, anchor)
    days = timeline_view.days_from(first, count, tz)
    (plan, people), (plan_now, people_now) = _plans(schedule, days, now)
    grid = timeline_view.build(schedule, days, tz, plan, people)
    layers = _layers(schedule)
    on_call, gaps = _now(schedule, plan_now, people_now, now, {layer.pk: layer.name for layer in layers})
    can_manage = may_manage(request, schedule)
    me = Person.objects.filter(user_id=request.user.pk).values_list("pk", flat=True).first()
    context = {
        "schedule": schedule, "tz": schedule.time_zone, "view": view, "grid": grid,
        "first": first, "last": first + timedelta(days=count - 1), "before": before, "after": after,
        "today": local(now, tz).date(), "layers": layers, "on_call": on_call,
        "vacancies": selectors.vacancies(schedule, now),
        "gaps": gaps,
        "overrides": schedule.overrides.filter(ends_at__gt=now).select_related("person", "replaces", "swap"),
        "swaps_done": ShiftSwap.objects.filter(schedule=schedule, status=ShiftSwap.ACCEPTED)
        .select_related("requester", "counterpart", "decided_by").order_by("-decided_at", "-pk")[:20],
        "swaps_pending": ShiftSwap.objects.filter(schedule=schedule, status=ShiftSwap.PENDING).count(),
        "can_manage": can_manage, "me": me,
    }
    return render(request, "oncall/schedule.html", context)
