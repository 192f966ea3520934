"""Incident pages: the filtered list, and reporting an incident by hand."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from tocsin.catalog.models import Service
from tocsin.core.form_errors import apply_errors
from tocsin.core.view_access import actor, permission_required, require_for_team, teams_in_reach

from . import selectors, services
from .forms import IncidentFilterForm, IncidentForm

PER_PAGE = 50


@permission_required("incidents:read")
def incident_list(request):
    form = IncidentFilterForm(request.GET)
    valid = form.is_valid()
    chosen = form.cleaned_data if valid else {}
    incidents = selectors.filtered(
        user=request.user, statuses=chosen.get("status"), service=chosen.get("service"),
        urgency=chosen.get("urgency") or None, assigned_to=selectors.MINE if chosen.get("mine") else None,
        unpaged=True if chosen.get("unpaged") else None,
    )
    page = Paginator(incidents, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form, "page": page, "statuses": selectors.statuses_from(chosen.get("status")),
        "can_create": teams_in_reach(request, "incidents:respond").exists(),
    }
    return render(request, "incidents/list.html", context, status=200 if valid else 400)


@permission_required("incidents:read")
def incident_create(request):
    teams = teams_in_reach(request, "incidents:respond")
    if not teams.exists():
        require_for_team(request, "incidents:respond", None)
    form = IncidentForm(request.POST or None, services=Service.objects.filter(owner_team__in=teams))
    if request.method == "POST" and form.is_valid():
        service = form.cleaned_data["service"]
        require_for_team(request, "incidents:respond", service.owner_team_id)
        try:
            incident = services.trigger_incident(
                service, form.cleaned_data["title"], actor=actor(request), details=form.cleaned_data["details"],
                urgency=form.cleaned_data["urgency"], source="manual", created_by=request.user,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Incident {incident.reference} is open; escalation has started.")
            return redirect("incident", number=incident.number)
    return render(request, "incidents/new.html", {"form": form}, status=400 if form.errors else 200)
