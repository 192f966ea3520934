"""Pieces shared by the catalogue's API modules: lookups that answer 400/404, serialisers."""

from django.shortcuts import get_object_or_404
from ninja.errors import HttpError

from tocsin.core.models import Team
from tocsin.directory.models import Person, Region, Site

from .models import Service

SOURCE = "api"


def team_by_slug(slug):
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise HttpError(400, f"Unknown team '{slug[:120]}'.")
    return team


def person_by_id(person_id):
    if person_id is None:
        return None
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        raise HttpError(400, f"Unknown person {person_id}.")
    return person


def sites_by_slug(slugs):
    sites = list(Site.objects.filter(slug__in=slugs))
    missing = sorted(set(slugs) - {site.slug for site in sites})
    if missing:
        raise HttpError(400, f"Unknown site(s): {', '.join(s[:120] for s in missing[:5])}.")
    return sites


def region_by_slug(slug):
    if slug is None:
        return None
    region = Region.objects.filter(slug=slug).first()
    if region is None:
        raise HttpError(400, f"Unknown region '{slug[:120]}'.")
    return region


def service_or_404(service_id):
    return get_object_or_404(Service.objects.select_related("owner_team", "owner"), pk=service_id)


def service_ref(service):
    return {"id": service.pk, "name": service.name, "kind": service.kind, "tier": service.tier}
