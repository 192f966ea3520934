"""Warnings about the catalogue's impact analysis: what is allowed but probably wrong."""

from dataclasses import dataclass

from .durations import humanise
from .graph import DependencyGraph
from .impact import falling_ratings
from .models import Service

TIER_BELOW_BUSINESS = "tier-below-business"
RTO_ABOVE_DEPENDENT = "rto-above-dependent"
IMPACT_FALLS = "impact-falls"
_FIELDS = ("name", "kind", "tier", "rto_minutes", "impact")
# Warnings are listed by the service they are raised on, then by kind, then by the other service.
_ORDER = {TIER_BELOW_BUSINESS: 0, RTO_ABOVE_DEPENDENT: 1, IMPACT_FALLS: 2}


@dataclass(frozen=True)
class CatalogWarning:
    code: str
    message: str
    service_ids: tuple  # every service the warning concerns, the one to change first


def catalog_warnings(services=None, graph=None):
    """Every warning of the catalogue; two queries when nothing is passed in."""
    if services is None:
        services = Service.objects.only(*_FIELDS)
    by_id = {service.pk: service for service in services}
    graph = graph or DependencyGraph.load()
    found = []
    for service in by_id.values():
        if service.is_business:
            found.extend(_tier_warning(by_id[pk], service) for pk in graph.all_dependencies(service.pk))
        found.extend(_rto_warning(service, by_id[pk]) for pk in graph.needs.get(service.pk, ()))
        found.extend(_impact_warnings(service))
    return _in_order(found)


def bia_warnings(service):
    """The warnings that concern one service, reading only the services around it: its own impact
    analysis, the business services resting on it, and what it depends on. Two queries."""
    graph = DependencyGraph.load()
    dependents = graph.all_dependents(service.pk)
    around = {service.pk} | dependents | graph.needs.get(service.pk, set())
    if service.is_business:
        around |= graph.all_dependencies(service.pk)
    by_id = Service.objects.only(*_FIELDS).in_bulk(around)
    this = by_id[service.pk]
    found = list(_impact_warnings(this))
    if this.is_business:
        found.extend(_tier_warning(by_id[pk], this) for pk in graph.all_dependencies(this.pk))
    found.extend(_tier_warning(this, by_id[pk]) for pk in dependents if by_id[pk].is_business)
    found.extend(_rto_warning(this, by_id[pk]) for pk in graph.needs.get(this.pk, ()))
    found.extend(_rto_warning(by_id[pk], this) for pk in graph.needed_by.get(this.pk, ()))
    return _in_order(found)


def warnings_by_service(warnings):
    counts = {}
    for warning in warnings:
        for service_id in warning.service_ids:
            counts[service_id] = counts.get(service_id, 0) + 1
    return counts


def _in_order(found):
    """(raised on, warning, other) triples, sorted; a stable sort keeps the impact cells in grid order."""
    found = [item for item in found if item is not None]
    found.sort(key=lambda item: (item[0].name, _ORDER[item[1].code], item[2].name if item[2] else ""))
    return [warning for _, warning, _ in found]


def _tier_warning(supporter, business):
    """A business service is only as available as the least critical service supporting it."""
    if supporter.tier <= business.tier:
        return None
    return business, CatalogWarning(
        TIER_BELOW_BUSINESS,
        f"{supporter.name} (tier {supporter.tier}) supports the business service {business.name} "
        f"(tier {business.tier}); raise it to tier {business.tier} or lower the business service.",
        (supporter.pk, business.pk),
    ), supporter


def _rto_warning(service, dependency):
    """A service cannot be back sooner than what it directly depends on."""
    if service.rto_minutes is None or dependency.rto_minutes is None or dependency.rto_minutes <= service.rto_minutes:
        return None
    return service, CatalogWarning(
        RTO_ABOVE_DEPENDENT,
        f"{service.name} has an RTO of {humanise(service.rto_minutes)} but depends on {dependency.name}, "
        f"whose RTO is {humanise(dependency.rto_minutes)}.",
        (dependency.pk, service.pk),
    ), dependency


def _impact_warnings(service):
    for label, earlier, before, later, after in falling_ratings(service.impact or {}):
        yield service, CatalogWarning(
            IMPACT_FALLS,
            f"{service.name}: {label.lower()} impact falls from {before} at {earlier} to {after} at {later}; "
            "impact normally grows the longer an outage lasts.",
            (service.pk,),
        ), None
