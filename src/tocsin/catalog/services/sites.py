"""Use cases for regions and sites: where offices, data centres and cloud regions are."""

from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import transaction

from tocsin.core import audit
from tocsin.directory.models import Region, Site

from ._fields import clean_name, free_slug

_SITE_FIELDS = {"name", "region", "kind", "address", "latitude", "longitude", "time_zone"}
_REGION_FIELDS = {"name", "description"}
_BOUNDS = {"latitude": 90, "longitude": 180}


def _coordinate(value, field):
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({field: f"The {field} must be a number."}) from None
    limit = _BOUNDS[field]
    if not number.is_finite() or not -limit <= number <= limit:
        raise ValidationError({field: f"The {field} must lie between -{limit} and {limit}."})
    return number.quantize(Decimal("0.00001"))


def check_time_zone(name):
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValidationError({"time_zone": f"Unknown time zone '{str(name)[:64]}'; use a name such as Europe/Berlin."}) from None
    return name


def _clean_site(fields, site=None):
    unknown = set(fields) - _SITE_FIELDS
    if unknown:
        raise ValidationError({name: "Unknown field." for name in unknown})
    if "name" in fields:
        fields["name"], fields["slug"] = clean_name(fields["name"], "site")
        free_slug(Site, fields["name"], fields["slug"], "site", exclude_pk=getattr(site, "pk", None))
    if "kind" in fields and fields["kind"] not in dict(Site.KINDS):
        raise ValidationError({"kind": f"Unknown site kind '{str(fields['kind'])[:30]}'; use office, data-centre or cloud-region."})
    for field in ("latitude", "longitude"):
        if field in fields:
            fields[field] = _coordinate(fields[field], field)
    if "time_zone" in fields:
        check_time_zone(fields["time_zone"])
    if "address" in fields:
        fields["address"] = (fields["address"] or "").strip()
        if len(fields["address"]) > 1000:
            raise ValidationError({"address": "Keep the address under 1,000 characters."})
    return fields


def _site_state(site):
    return {
        "name": site.name, "region": site.region_id, "kind": site.kind, "address": site.address,
        "latitude": site.latitude, "longitude": site.longitude, "time_zone": site.time_zone,
    }


def create_site(*, actor, **fields):
    fields = _clean_site({"name": fields.get("name", ""), **fields})
    with transaction.atomic():
        site = Site.objects.create(**fields)
        audit.record(actor, "catalog.site.create", site, summary=_site_state(site))
    return site


def update_site(site, *, actor, **fields):
    fields = _clean_site(fields, site)
    before = _site_state(site)
    for name, value in fields.items():
        setattr(site, name, value)
    with transaction.atomic():
        site.save()
        summary = audit.changes(before, _site_state(site))
        if summary:
            audit.record(actor, "catalog.site.update", site, summary=summary)
    return site


def _clean_region(fields, region=None):
    unknown = set(fields) - _REGION_FIELDS
    if unknown:
        raise ValidationError({name: "Unknown field." for name in unknown})
    if "name" in fields:
        fields["name"], fields["slug"] = clean_name(fields["name"], "region")
        free_slug(Region, fields["name"], fields["slug"], "region", exclude_pk=getattr(region, "pk", None))
    if "description" in fields:
        fields["description"] = (fields["description"] or "").strip()
        if len(fields["description"]) > 2000:
            raise ValidationError({"description": "Keep the description under 2,000 characters."})
    return fields


def create_region(*, actor, **fields):
    fields = _clean_region({"name": fields.get("name", ""), **fields})
    with transaction.atomic():
        region = Region.objects.create(**fields)
        audit.record(actor, "catalog.region.create", region, summary={"name": region.name})
    return region


def update_region(region, *, actor, **fields):
    fields = _clean_region(fields, region)
    before = {"name": region.name, "description": region.description}
    for name, value in fields.items():
        setattr(region, name, value)
    with transaction.atomic():
        region.save()
        summary = audit.changes(before, {"name": region.name, "description": region.description})
        if summary:
            audit.record(actor, "catalog.region.update", region, summary=summary)
    return region
