"""Overrides in the browser: someone else on call for a while, prefilled from a shift of the grid."""

from collections import Counter

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from tocsin.core.form_errors import apply_errors
from tocsin.core.timezones import zone
from tocsin.core.view_access import actor, permission_required, require_for_team
from tocsin.directory.models import Person

from . import services
from .forms import OverrideForm, person_label
from .models import Override
from .views import prefill, schedule_or_404
from .wallclock import local

SUGGESTIONS = 200


def suggested_people(schedule):
    """Names to offer, as the forms read them back: the schedule's participants and its team's
    members (any active person's name is accepted)."""
    scope = Q(rotation_slots__layer__schedule=schedule)
    if schedule.team_id:
        scope |= Q(teams=schedule.team_id)
    people = list(Person.objects.filter(scope, is_active=True).distinct().order_by("name", "pk")[:SUGGESTIONS])
    repeated = {name for name, n in Counter(p.name for p in people).items() if n > 1}
    return [person_label(p, repeated) for p in people]


def week_of(schedule, instant):
    """The schedule page's URL for the week holding `instant`."""
    day = local(instant, zone(schedule.time_zone)).date()
    return reverse("oncall-schedule", args=[schedule.slug]) + "?" + urlencode({"start": day.isoformat()})


def _prefill(request, tz):
    person, initial = prefill(request, tz)
    if person is not None:
        initial["replaces"] = person_label(person, _duplicated(person))
    return initial


def _duplicated(person):
    clash = Person.objects.filter(name=person.name, is_active=True).exclude(pk=person.pk).exists()
    return {person.name} if clash else set()


@permission_required("oncall:read")
def override_create(request, slug):
    schedule = schedule_or_404(slug)
    require_for_team(request, "oncall:manage", schedule.team)
    tz = zone(schedule.time_zone)
    form = OverrideForm(request.POST or None, tz=tz, initial=_prefill(request, tz))
    if request.method == "POST" and form.is_valid():
        try:
            override = services.add_override(schedule, actor=actor(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"{override.person.name} is on call instead from "
                                      f"{local(override.starts_at, tz):%a %d %b %H:%M}.")
            return redirect(week_of(schedule, override.starts_at))
    context = {"schedule": schedule, "form": form, "people": suggested_people(schedule)}
    return render(request, "oncall/override_form.html", context, status=400 if form.errors else 200)


@require_POST
@permission_required("oncall:read")
def override_remove(request, slug, override_id):
    schedule = schedule_or_404(slug)
    require_for_team(request, "oncall:manage", schedule.team)
    override = get_object_or_404(Override.objects.select_related("person"), pk=override_id, schedule=schedule)
    services.remove_override(override, actor=actor(request))
    messages.success(request, f"The override for {override.person.name} is removed.")
    return redirect(week_of(schedule, override.starts_at))
