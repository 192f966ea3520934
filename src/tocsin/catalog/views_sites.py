"""Site and region pages: where offices, data centres and cloud regions are, and who works there."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render

from tocsin.core.form_errors import apply_errors
from tocsin.core.view_access import actor, permission_required, require_for_team
from tocsin.directory import services as directory_services
from tocsin.directory.models import Region, Site

from .forms import RegionForm, SiteForm
from .views_common import may_manage_sites


@permission_required("catalog:read")
def sites(request):
    context = {
        "sites": Site.objects.select_related("region").annotate(
            people_count=Count("people", distinct=True), service_count=Count("services", distinct=True),
        ).order_by("name"),
        "regions": Region.objects.annotate(site_count=Count("sites")).order_by("name"),
        "can_edit": may_manage_sites(request),
    }
    return render(request, "catalog/sites.html", context)


def _form_page(request, form, *, title, back, status=200):
    return render(request, "catalog/form.html", {"form": form, "title": title, "back": back},
                  status=400 if form.errors else status)


def _save(request, form, action, success):
    """Run `action(**cleaned_data)`; True when it saved, else the service's errors are on the form."""
    if request.method != "POST" or not form.is_valid():
        return False
    try:
        action(actor=actor(request), **form.cleaned_data)
    except ValidationError as exc:
        apply_errors(form, exc)
        return False
    messages.success(request, success)
    return True


@permission_required("catalog:read")
def site_create(request):
    require_for_team(request, "catalog:manage", None)
    form = SiteForm(request.POST or None)
    if _save(request, form, directory_services.create_site, "The site is added."):
        return redirect("catalog-sites")
    return _form_page(request, form, title="Add a site", back="catalog-sites")


@permission_required("catalog:read")
def site_edit(request, site_id):
    require_for_team(request, "catalog:manage", None)
    site = get_object_or_404(Site, pk=site_id)
    initial = {name: getattr(site, name) for name in ("name", "kind", "address", "latitude", "longitude", "time_zone")}
    form = SiteForm(request.POST or None, initial={**initial, "region": site.region_id})

    def update(**fields):
        return directory_services.update_site(site, **fields)

    if _save(request, form, update, "The site is saved."):
        return redirect("catalog-sites")
    return _form_page(request, form, title=f"Edit {site.name}", back="catalog-sites")


@permission_required("catalog:read")
def region_create(request):
    require_for_team(request, "catalog:manage", None)
    form = RegionForm(request.POST or None)
    if _save(request, form, directory_services.create_region, "The region is added."):
        return redirect("catalog-sites")
    return _form_page(request, form, title="Add a region", back="catalog-sites")


@permission_required("catalog:read")
def region_edit(request, region_id):
    require_for_team(request, "catalog:manage", None)
    region = get_object_or_404(Region, pk=region_id)
    form = RegionForm(request.POST or None, initial={"name": region.name, "description": region.description})

    def update(**fields):
        return directory_services.update_region(region, **fields)

    if _save(request, form, update, "The region is saved."):
        return redirect("catalog-sites")
    return _form_page(request, form, title=f"Edit {region.name}", back="catalog-sites")
