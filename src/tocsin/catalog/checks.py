"""Warnings about the catalogue's impact analysis: what is allowed but probably wrong."""

from dataclasses import dataclass

from .durations import humanise
from .graph import DependencyGraph
from .impact import falling_ratings
from .models import Service

TIER_BELOW_BUSINESS = "tier-below-business"
RTO_ABOVE_DEPENDENT = "rto-above-dependent"
IMPACT_FALLS = "impact-falls"


@dataclass(frozen=True)
class CatalogWarning:
    code: str
    message: str
    service_ids: tuple  # every service the warning concerns, the one to change first


def catalog_warnings(services=None, graph=None):
    """Every warning of the catalogue; two queries when nothing is passed in."""
    if services is None:
        services = Service.objects.only("name", "kind", "tier", "rto_minutes", "impact")
    by_id = {service.pk: service for service in services}
    graph = graph or DependencyGraph.load()
    found = []
    for service in sorted(by_id.values(), key=lambda s: s.name):
        if service.is_business:
            found.extend(_tier_warnings(service, graph, by_id))
        found.extend(_rto_warnings(service, graph, by_id))
        for label, earlier, before, later, after in falling_ratings(service.impact or {}):
            found.append(CatalogWarning(
                IMPACT_FALLS,
                f"{service.name}: {label.lower()} impact falls from {before} at {earlier} to {after} at {later}; "
                "impact normally grows the longer an outage lasts.",
                (service.pk,),
            ))
    return found


def bia_warnings(service):
    """The warnings that concern one service."""
    return [warning for warning in catalog_warnings() if service.pk in warning.service_ids]


def warnings_by_service(warnings):
    counts = {}
    for warning in warnings:
        for service_id in warning.service_ids:
            counts[service_id] = counts.get(service_id, 0) + 1
    return counts


def _tier_warnings(business, graph, by_id):
    """A business service is only as available as the least critical service supporting it."""
    for supporter_id in sorted(graph.all_dependencies(business.pk), key=lambda pk: by_id[pk].name):
        supporter = by_id[supporter_id]
        if supporter.tier > business.tier:
            yield CatalogWarning(
                TIER_BELOW_BUSINESS,
                f"{supporter.name} (tier {supporter.tier}) supports the business service {business.name} "
                f"(tier {business.tier}); raise it to tier {business.tier} or lower the business service.",
                (supporter.pk, business.pk),
            )


def _rto_warnings(service, graph, by_id):
    """A service cannot be back sooner than what it directly depends on."""
    if service.rto_minutes is None:
        return
    for dependency_id in sorted(graph.needs.get(service.pk, ()), key=lambda pk: by_id[pk].name):
        dependency = by_id[dependency_id]
        if dependency.rto_minutes is not None and dependency.rto_minutes > service.rto_minutes:
            yield CatalogWarning(
                RTO_ABOVE_DEPENDENT,
                f"{service.name} has an RTO of {humanise(service.rto_minutes)} but depends on {dependency.name}, "
                f"whose RTO is {humanise(dependency.rto_minutes)}.",
                (dependency.pk, service.pk),
            )
