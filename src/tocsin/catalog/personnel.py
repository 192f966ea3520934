"""Critical personnel (B3): who must be reachable for the services with an RTO of N or less."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ValidationError

from tocsin.oncall.selectors import people_on_call

from .durations import humanise
from .graph import DependencyGraph
from .models import Service

MAX_WINDOW = timedelta(days=31)


@dataclass
class CriticalService:
    service: Service
    why: str  # "RTO 2h", or "needed by Online Shop" for a dependency of such a service
    owner: object = None  # the accountable Person, when active
    on_call: list = field(default_factory=list)

    @property
    def gap(self):
        """Nobody to reach: no active owner and nobody on call for the owner team."""
        return self.owner is None and not self.on_call


def critical_personnel(max_rto_minutes, start, end):
    """Every service with an RTO of at most `max_rto_minutes`, and every service they depend on
    (they must come back as fast), with the owner and the owner team's on-call people in [start, end)."""
    if end <= start:
        raise ValidationError({"end": "The end must be after the start."})
    if end - start > MAX_WINDOW:
        raise ValidationError({"end": "Look at most 31 days ahead."})
    services = {s.pk: s for s in Service.objects.select_related("owner_team", "owner")}
    graph = DependencyGraph.load()
    why = {}
    urgent = sorted((s for s in services.values() if s.rto_minutes is not None and s.rto_minutes <= max_rto_minutes),
                    key=lambda s: (s.rto_minutes, s.tier, s.name))
    for service in urgent:
        why[service.pk] = f"RTO {humanise(service.rto_minutes)}"
    for service in urgent:
        for dependency_id in sorted(graph.all_dependencies(service.pk), key=lambda pk: services[pk].name):
            why.setdefault(dependency_id, f"needed by {service.name}")
    chosen = [services[pk] for pk in why]
    on_call = people_on_call({s.owner_team_id for s in chosen}, start, end)
    rows = []
    for service in sorted(chosen, key=lambda s: (s.rto_minutes is None, s.rto_minutes or 0, s.tier, s.name)):
        owner = service.owner if service.owner and service.owner.is_active else None
        people = on_call.get(service.owner_team_id, [])
        rows.append(CriticalService(service, why[service.pk], owner, list(people)))
    return rows
