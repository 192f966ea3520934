"""Use cases for regions and sites: where offices, data centres and cloud regions are."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from tocsin.core import audit
from tocsin.core.timezones import zone

from ..models import Region, Site

_SITE_FIELDS = {"name", "region", "kind", "address", "latitude", "longitude", "time_zone"}
_REGION_FIELDS = {"name", "description"}
_BOUNDS = {"latitude": 90, "longitude": 180}


def _refuse_unknown(fields, allowed):
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: "Unknown field." for name in unknown})


def _name_and_slug(model, name, noun, exclude_pk=None):
    """A trimmed name of 1 to 120 characters whose slug (or name, ignoring case) no other row has."""
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 120:
        raise ValidationError({"name": f"A {noun} name of 1 to 120 characters is required."})
    slug = slugify(name)[:120]
    if not slug:
        raise ValidationError({"name": f"A {noun} name needs at least one letter or digit."})
    others = model.objects.exclude(pk=exclude_pk) if exclude_pk else model.objects.all()
    if others.filter(slug=slug).exists() or others.filter(name__iexact=name).exists():
        raise ValidationError({"name": f"A {noun} named '{name}' exists already."})
    return name, slug


def _text(value, field, limit):
    value = (value or "").strip()
    if len(value) > limit:
        raise ValidationError({field: f"Keep the {field} under {limit:,} characters."})
    return value


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


def _clean_site(fields, site=None):
    _refuse_unknown(fields, _SITE_FIELDS)
    if "name" in fields:
        fields["name"], fields["slug"] = _name_and_slug(Site, fields["name"], "site", getattr(site, "pk", None))
    if "kind" in fields and fields["kind"] not in dict(Site.KINDS):
        raise ValidationError({"kind": f"Unknown site kind '{str(fields['kind'])[:30]}'; use office, data-centre or cloud-region."})
    for field in ("latitude", "longitude"):
        if field in fields:
            fields[field] = _coordinate(fields[field], field)
    if "time_zone" in fields:
        zone(fields["time_zone"], field="time_zone")
    if "address" in fields:
        fields["address"] = _text(fields["address"], "address", 1000)
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
        audit.record(actor, "directory.site.create", site, summary=_site_state(site))
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
            audit.record(actor, "directory.site.update", site, summary=summary)
    return site


def _clean_region(fields, region=None):
    _refuse_unknown(fields, _REGION_FIELDS)
    if "name" in fields:
        fields["name"], fields["slug"] = _name_and_slug(Region, fields["name"], "region", getattr(region, "pk", None))
    if "description" in fields:
        fields["description"] = _text(fields["description"], "description", 2000)
    return fields


def create_region(*, actor, **fields):
    fields = _clean_region({"name": fields.get("name", ""), **fields})
    with transaction.atomic():
        region = Region.objects.create(**fields)
        audit.record(actor, "directory.region.create", region, summary={"name": region.name})
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
            audit.record(actor, "directory.region.update", region, summary=summary)
    return region
