"""The list of schedules with who is on call now, and creating, editing and deleting a schedule."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone

from tocsin.core.form_errors import apply_errors
from tocsin.core.timezones import zone_names
from tocsin.core.view_access import actor, permission_required, reaches_every_team, require_for_team, teams_in_reach

from . import selectors, services
from .forms import ScheduleForm
from .models import Schedule
from .views import schedule_or_404

MANAGE = "oncall:manage"


@permission_required("oncall:read")
def schedule_list(request):
    now = timezone.now()
    schedules = Schedule.objects.select_related("team").order_by("name")
    rows = list(schedules)
    current = selectors.oncall_everywhere(now, schedules)
    gaps = selectors.gaps_ahead(schedules, now)
    vacant = selectors.vacancies_by_schedule(schedules, now)
    everywhere = {}
    for schedule in rows:
        for entry in current.get(schedule.pk, []):
            everywhere.setdefault(entry.person.pk, (entry.person, []))[1].append(schedule)
    context = {
        "rows": [{"schedule": s, "now": current.get(s.pk, []), "gaps": gaps.get(s.pk, []),
                  "vacancies": len(vacant.get(s.pk, ()))} for s in rows],
        "everywhere": sorted(everywhere.values(), key=lambda item: (item[0].name, item[0].pk)),
        "can_create": teams_in_reach(request, MANAGE).exists() or reaches_every_team(request, MANAGE),
    }
    return render(request, "oncall/schedules.html", context)


def _form(request, schedule=None):
    initial = None
    if schedule is not None:
        initial = {"name": schedule.name, "team": schedule.team_id, "time_zone": schedule.time_zone,
                   "description": schedule.description}
    return ScheduleForm(request.POST or None, initial=initial, teams=teams_in_reach(request, MANAGE),
                        team_required=not reaches_every_team(request, MANAGE))


def _render_form(request, form, schedule=None):
    context = {"form": form, "schedule": schedule, "zones": zone_names()}
    return render(request, "oncall/schedule_form.html", context, status=400 if form.errors else 200)


@permission_required("oncall:read")
def schedule_create(request):
    if not reaches_every_team(request, MANAGE) and not teams_in_reach(request, MANAGE).exists():
        require_for_team(request, MANAGE, None)
    form = _form(request)
    if request.method == "POST" and form.is_valid():
        team = form.cleaned_data["team"]
        require_for_team(request, MANAGE, team)
        try:
            schedule = services.create_schedule(actor=actor(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Schedule {schedule.name} is created. Add a layer to put people on call.")
            return redirect("oncall-schedule", slug=schedule.slug)
    return _render_form(request, form)


@permission_required("oncall:read")
def schedule_edit(request, slug):
    schedule = schedule_or_404(slug)
    require_for_team(request, MANAGE, schedule.team)
    form = _form(request, schedule)
    if request.method == "POST" and form.is_valid():
        require_for_team(request, MANAGE, form.cleaned_data["team"])
        try:
            services.update_schedule(schedule, actor=actor(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "The schedule is saved.")
            return redirect("oncall-schedule", slug=schedule.slug)
    return _render_form(request, form, schedule)


@permission_required("oncall:read")
def schedule_delete(request, slug):
    schedule = schedule_or_404(slug)
    require_for_team(request, MANAGE, schedule.team)
    if request.method == "POST":
        services.delete_schedule(schedule, actor=actor(request))
        messages.success(request, f"Schedule {schedule.name} is deleted.")
        return redirect("oncall-schedules")
    return render(request, "oncall/confirm.html", {
        "schedule": schedule, "title": f"Delete {schedule.name}?",
        "detail": "Its layers, overrides, swaps and calendar feeds go with it. Escalation policies that page "
                  "this schedule will page nobody through it.",
        "button": "Delete the schedule"
    })

