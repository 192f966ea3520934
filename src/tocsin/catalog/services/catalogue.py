"""Use cases for services: create, change, delete, and their business impact analysis."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from tocsin.core import audit

from ..durations import humanise, parse_minutes
from ..impact import clean_impact
from ..models import Service
from ._fields import clean_name, free_slug, stamp
from .dependencies import lock_graph

_EDITABLE = {"name", "kind", "owner_team", "owner", "tier", "description", "sites"}


def _clean(fields, service=None):
    if "name" in fields:
        fields["name"], fields["slug"] = clean_name(fields["name"], "service")
        free_slug(Service, fields["name"], fields["slug"], "service", exclude_pk=getattr(service, "pk", None))
    if "kind" in fields and fields["kind"] not in dict(Service.KINDS):
        raise ValidationError({"kind": f"Unknown kind '{str(fields['kind'])[:30]}'; use technical or business."})
    if "tier" in fields:
        tier = fields["tier"]
        if isinstance(tier, bool) or not isinstance(tier, int) or not 1 <= tier <= 4:
            raise ValidationError({"tier": "The criticality tier must be 1 (most critical) to 4 (least critical)."})
    if "owner_team" in fields and fields["owner_team"] is None:
        raise ValidationError({"owner_team": "Every service needs an owner team."})
    if "description" in fields:
        fields["description"] = (fields["description"] or "").strip()
        if len(fields["description"]) > 5000:
            raise ValidationError({"description": "Keep the description under 5,000 characters."})
    return fields


def _state(service):
    return {
        "name": service.name, "kind": service.kind, "owner_team": service.owner_team_id, "owner": service.owner_id,
        "tier": service.tier, "description": service.description,
    }


def create_service(*, actor, source="ui", **fields):
    unknown = set(fields) - _EDITABLE
    if unknown:
        raise ValidationError({name: "Unknown field." for name in unknown})
    fields = _clean({"name": fields.get("name", ""), "owner_team": fields.get("owner_team"), **fields})
    sites = fields.pop("sites", None) or []
    service = Service(**fields)
    with transaction.atomic():
        stamp(service, actor, source)
        service.save()
        service.sites.set(sites)
        audit.record(actor, "catalog.service.create", service, summary={
            "name": service.name, "kind": service.kind, "tier": service.tier, "owner_team": service.owner_team_id,
            "sites": sorted(site.slug for site in sites), "source": source,
        })
    return service


def update_service(service, *, actor, source="ui", **fields):
    unknown = set(fields) - _EDITABLE
    if unknown:
        raise ValidationError({name: "Unknown field." for name in unknown})
    fields = _clean(fields, service)
    if fields.get("kind", service.kind) != service.kind:
        _check_kind_change(service, fields["kind"])
    sites = fields.pop("sites", None)
    before = _state(service)
    before_sites = sorted(service.sites.values_list("slug", flat=True))
    for name, value in fields.items():
        setattr(service, name, value)
    service.updated_at = timezone.now()
    with transaction.atomic():
        stamp(service, actor, source)
        service.save()
        summary = audit.changes(before, _state(service))
        if sites is not None:
            service.sites.set(sites)
            after_sites = sorted(site.slug for site in sites)
            if after_sites != before_sites:
                summary["sites"] = {"from": before_sites, "to": after_sites}
        if summary:
            audit.record(actor, "catalog.service.update", service, summary={**summary, "source": source})
    return service


def _check_kind_change(service, kind):
    """Business services rest on technical ones; never the other way round."""
    if kind == Service.BUSINESS and service.dependent_edges.filter(service__kind=Service.TECHNICAL).exists():
        raise ValidationError({"kind": "Technical services depend on this one, so it cannot become a business service."})
    if kind == Service.TECHNICAL and service.dependency_edges.filter(depends_on__kind=Service.BUSINESS).exists():
        raise ValidationError({"kind": "This service depends on business services, so it cannot become technical."})


def delete_service(service, *, actor, source="ui"):
    """Only a service nothing depends on may go: the recovery order would silently lose a step.
    The check runs under the graph lock, so no edge can be added between it and the delete; the
    PROTECT on the edge is the last guard."""
    with transaction.atomic():
        lock_graph()
        _refuse_if_needed(service)
        audit.record(actor, "catalog.service.delete", service, summary={"name": service.name, "source": source})
        stamp(service, actor, source)
        try:
            with transaction.atomic():
                service.delete()
        except ProtectedError as exc:
            _refuse_if_needed(service)
            kinds = sorted({obj._meta.verbose_name for obj in exc.protected_objects})
            raise ValidationError({"service": f"{service.name} is still referenced by: {', '.join(kinds)}."}) from None


def _refuse_if_needed(service):
    needed_by = list(service.dependent_edges.select_related("service").order_by("service__name")[:5])
    if needed_by:
        names = ", ".join(edge.service.name for edge in needed_by)
        raise ValidationError({"service": f"{service.name} is needed by {names}; remove those dependencies first."})


def set_bia(service, *, actor, source="ui", rto=None, rpo=None, mtpd=None, data_sensitivity=None, impact=None):
    """Replace the impact analysis. RTO beyond MTPD is refused: the service would be back only after
    the business could no longer survive its loss. Everything is checked before anything is saved."""
    rto_minutes = parse_minutes(rto, "rto")
    rpo_minutes = parse_minutes(rpo, "rpo")
    mtpd_minutes = parse_minutes(mtpd, "mtpd")
    if rto_minutes is not None and mtpd_minutes is not None and rto_minutes > mtpd_minutes:
        raise ValidationError({"rto": (
            f"The RTO ({humanise(rto_minutes)}) exceeds the MTPD ({humanise(mtpd_minutes)}): the service would be "
            "back only after its outage became intolerable. Shorten the RTO or review the MTPD."
        )})
    sensitivity = data_sensitivity or service.data_sensitivity
    if sensitivity not in dict(Service.SENSITIVITIES):
        raise ValidationError({"data_sensitivity": (
            f"Unknown data sensitivity '{str(sensitivity)[:40]}'; use one of "
            + ", ".join(key for key, _ in Service.SENSITIVITIES) + "."
        )})
    grid = clean_impact(impact)
    before = _bia_state(service)
    service.rto_minutes, service.rpo_minutes, service.mtpd_minutes = rto_minutes, rpo_minutes, mtpd_minutes
    service.data_sensitivity, service.impact = sensitivity, grid
    service.updated_at = timezone.now()
    with transaction.atomic():
        stamp(service, actor, source)
        service.save()
        summary = audit.changes(before, _bia_state(service))
        if summary:
            audit.record(actor, "catalog.bia.set", service, summary={**summary, "source": source})
    return service


def _bia_state(service):
    return {
        "rto_minutes": service.rto_minutes, "rpo_minutes": service.rpo_minutes, "mtpd_minutes": service.mtpd_minutes,
        "data_sensitivity": service.data_sensitivity, "impact": service.impact,
    }
