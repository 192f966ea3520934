"""Adding, editing and removing a schedule's layers (rotations) in the browser."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from tocsin.core.form_errors import apply_errors
from tocsin.core.timezones import zone
from tocsin.core.view_access import actor, permission_required, require_for_team
from tocsin.directory.models import OrgRole, Person

from . import services
from .forms import LayerForm
from .models import Layer
from .views import schedule_or_404
from .wallclock import local

SUGGESTIONS = 200  # names offered under the participants box; typing any other name works too


def _render(request, schedule, form, layer=None):
    people = Person.objects.filter(is_active=True)
    if schedule.team_id:
        people = people.filter(teams=schedule.team_id)
    context = {
        "schedule": schedule, "form": form, "layer": layer,
        "people": people.order_by("name", "pk").values_list("name", flat=True)[:SUGGESTIONS],
        "roles": OrgRole.objects.order_by("name").values_list("name", flat=True)[:SUGGESTIONS],
    }
    return render(request, "oncall/layer_form.html", context, status=400 if form.errors else 200)


@permission_required("oncall:read")
def layer_create(request, slug):
    schedule = schedule_or_404(slug)
    require_for_team(request, "oncall:manage", schedule.team)
    today = local(timezone.now(), zone(schedule.time_zone)).date()
    form = LayerForm(request.POST or None, initial={"start_date": today})
    if request.method == "POST" and form.is_valid():
        try:
            layer = services.add_layer(schedule, actor=actor(request), **form.changes())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Layer {layer.name} is added.")
            return redirect("oncall-schedule", slug=schedule.slug)
    return _render(request, schedule, form)


def _layer_or_404(schedule, layer_id):
    return get_object_or_404(Layer, pk=layer_id, schedule=schedule)


@permission_required("oncall:read")
def layer_edit(request, slug, layer_id):
    schedule = schedule_or_404(slug)
    require_for_team(request, "oncall:manage", schedule.team)
    layer = _layer_or_404(schedule, layer_id)
    if layer.rotation == Layer.CALENDAR:
        messages.info(request, "An imported calendar layer changes by importing the calendar again.")
        return redirect("oncall-calendar-import", schedule_slug=schedule.slug)
    form = LayerForm(request.POST or None, initial=LayerForm.initial_for(layer))
    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        try:
            services.update_layer(layer, actor=actor(request), participants=changes.pop("participants"), **changes)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Layer {layer.name} is saved.")
            return redirect("oncall-schedule", slug=schedule.slug)
    return _render(request, schedule, form, layer)


@require_POST
@permission_required("oncall:read")
def layer_remove(request, slug, layer_id):
    schedule = schedule_or_404(slug)
    require_for_team(request, "oncall:manage", schedule.team)
    layer = _layer_or_404(schedule, layer_id)
    services.remove_layer(layer, actor=actor(request))
    messages.success(request, f"Layer {layer.name} is removed.")
    return redirect("oncall-schedule", slug=schedule.slug)
