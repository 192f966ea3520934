"""Service pages: the list with warnings, a service with its impact analysis and dependencies, edits."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from tocsin.core.form_errors import apply_errors
from tocsin.core.view_access import actor, permission_required, require_for_team, teams_in_reach

from . import selectors, services
from .checks import bia_warnings, catalog_warnings, warnings_by_service
from .forms import BiaForm, DependencyForm, ServiceForm
from .impact import HORIZONS
from .models import Service
from .views_common import may_manage

PER_PAGE = 100


@permission_required("catalog:read")
def service_list(request):
    page = Paginator(selectors.services_for_list(), PER_PAGE).get_page(request.GET.get("page"))
    warnings = catalog_warnings()
    counts = warnings_by_service(warnings)
    rows = [{"service": service, "warnings": counts.get(service.pk, 0)} for service in page]
    context = {"page": page, "rows": rows, "warning_total": len(warnings),
               "can_create": teams_in_reach(request, "catalog:manage").exists()}
    return render(request, "catalog/services.html", context)


def _service_or_404(service_id):
    try:
        return selectors.service_detail(service_id)
    except Service.DoesNotExist:
        raise Http404("No such service.") from None


def _render_service(request, service, *, bia_form=None, dependency_form=None, status=200):
    editable = may_manage(request, service)
    depends_on = [edge.depends_on for edge in service.dependency_edges.all()]
    context = {
        "service": service,
        "sites": service.sites.all(),
        "depends_on": depends_on,
        "needed_by": [edge.service for edge in service.dependent_edges.all()],
        "warnings": bia_warnings(service),
        "exceptions": service.legacy_exceptions.select_related("requested_by", "approved_by"),
        "horizons": HORIZONS,
        "can_edit": editable,
        "bia_form": bia_form or BiaForm(service=service),
        "dependency_form": (dependency_form or DependencyForm(service=service)) if editable else None,
    }
    return render(request, "catalog/service.html", context, status=status)


@permission_required("catalog:read")
def service_detail(request, service_id):
    return _render_service(request, _service_or_404(service_id))


@permission_required("catalog:read")
def service_create(request):
    teams = teams_in_reach(request, "catalog:manage")
    if not teams.exists():
        require_for_team(request, "catalog:manage", None)
    form = ServiceForm(request.POST or None, teams=teams)
    if request.method == "POST" and form.is_valid():
        try:
            service = services.create_service(actor=actor(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"{service.name} is in the catalogue.")
            return redirect("catalog-service", service_id=service.pk)
    return render(request, "catalog/service_form.html", {"form": form, "service": None},
                  status=400 if form.errors else 200)


@permission_required("catalog:read")
def service_edit(request, service_id):
    service = get_object_or_404(Service.objects.select_related("owner_team"), pk=service_id)
    require_for_team(request, "catalog:manage", service.owner_team)
    form = ServiceForm(request.POST or None, teams=teams_in_reach(request, "catalog:manage"), service=service)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_service(service, actor=actor(request), **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "The service is saved.")
            return redirect("catalog-service", service_id=service.pk)
    return render(request, "catalog/service_form.html", {"form": form, "service": service},
                  status=400 if form.errors else 200)


@require_POST
@permission_required("catalog:read")
def service_delete(request, service_id):
    service = get_object_or_404(Service.objects.select_related("owner_team"), pk=service_id)
    require_for_team(request, "catalog:manage", service.owner_team)
    try:
        services.delete_service(service, actor=actor(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("catalog-service", service_id=service_id)
    messages.success(request, f"{service.name} is removed from the catalogue.")
    return redirect("catalog-services")


@require_POST
@permission_required("catalog:read")
def bia_save(request, service_id):
    service = _service_or_404(service_id)
    require_for_team(request, "catalog:manage", service.owner_team)
    form = BiaForm(request.POST, service=service)
    if form.is_valid():
        try:
            services.set_bia(service, actor=actor(request), **form.bia())
        except ValidationError as exc:
            apply_errors(form, exc)
            service.refresh_from_db()  # show the stored analysis beside the refused input
        else:
            messages.success(request, "The impact analysis is saved.")
            return redirect("catalog-service", service_id=service.pk)
    return _render_service(request, service, bia_form=form, status=400)


@require_POST
@permission_required("catalog:read")
def dependency_add(request, service_id):
    service = _service_or_404(service_id)
    require_for_team(request, "catalog:manage", service.owner_team)
    form = DependencyForm(request.POST, service=service)
    if form.is_valid():
        try:
            services.add_dependency(service, form.cleaned_data["depends_on"], actor=actor(request),
                                    note=form.cleaned_data["note"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"{service.name} now depends on {form.cleaned_data['depends_on'].name}.")
            return redirect("catalog-service", service_id=service.pk)
    return _render_service(request, service, dependency_form=form, status=400)


@require_POST
@permission_required("catalog:read")
def dependency_remove(request, service_id, depends_on_id):
    service = get_object_or_404(Service.objects.select_related("owner_team"), pk=service_id)
    require_for_team(request, "catalog:manage", service.owner_team)
    depends_on = get_object_or_404(Service, pk=depends_on_id)
    if services.remove_dependency(service, depends_on, actor=actor(request)):
        messages.success(request, f"{service.name} no longer depends on {depends_on.name}.")
    return redirect("catalog-service", service_id=service.pk)
