"""catalog JSON API for regions and sites. Everyone with `catalog:read` sees them; changing them
needs `catalog:manage` over every team (an administrator), since sites are shared by all."""

from django.shortcuts import get_object_or_404
from ninja import Router, Status
from ninja.pagination import paginate

from tocsin.core.api_auth import check
from tocsin.core.schemas import ObjectId
from tocsin.core.view_access import actor
from tocsin.directory import services as directory_services
from tocsin.directory.models import Region, Site

from .api_common import region_by_slug
from .schemas import RegionIn, RegionOut, RegionPatch, SiteIn, SiteOut, SitePatch

router = Router(tags=["catalog"])


@router.get("/regions", response=list[RegionOut])
@paginate
def list_regions(request):
    check(request, "catalog:read")
    return Region.objects.order_by("name")


@router.post("/regions", response={201: RegionOut})
def create_region(request, payload: RegionIn):
    check(request, "catalog:manage", target="catalog.region")
    return Status(201, directory_services.create_region(actor=actor(request), **payload.dict()))


@router.patch("/regions/{region_id}", response=RegionOut)
def update_region(request, region_id: ObjectId, payload: RegionPatch):
    region = get_object_or_404(Region, pk=region_id)
    check(request, "catalog:manage", target="catalog.region")
    return directory_services.update_region(region, actor=actor(request), **payload.dict(exclude_unset=True))


@router.get("/sites", response=list[SiteOut])
@paginate
def list_sites(request):
    check(request, "catalog:read")
    return Site.objects.select_related("region").order_by("name")


@router.get("/sites/{site_id}", response=SiteOut)
def get_site(request, site_id: ObjectId):
    check(request, "catalog:read")
    return get_object_or_404(Site.objects.select_related("region"), pk=site_id)


@router.post("/sites", response={201: SiteOut})
def create_site(request, payload: SiteIn):
    check(request, "catalog:manage", target="catalog.site")
    fields = payload.dict()
    fields["region"] = region_by_slug(fields["region"])
    return Status(201, directory_services.create_site(actor=actor(request), **fields))


@router.patch("/sites/{site_id}", response=SiteOut)
def update_site(request, site_id: ObjectId, payload: SitePatch):
    site = get_object_or_404(Site, pk=site_id)
    check(request, "catalog:manage", target="catalog.site")
    fields = payload.dict(exclude_unset=True)
    if "region" in fields:
        fields["region"] = region_by_slug(fields["region"])
    directory_services.update_site(site, actor=actor(request), **fields)
    return Site.objects.select_related("region").get(pk=site.pk)
