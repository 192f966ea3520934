"""Recovery order (C5): bring services back so each comes after everything it depends on.

Only the services that are down are ordered. A down service waits for every other down service
it depends on, directly or through services that are still up: an up service in between does
not make a down one further along unnecessary. Ties go to the shorter RTO, then the more
critical tier, then the name, so the order is the same every time.
"""

import heapq
from dataclasses import dataclass, field

from .graph import DependencyGraph
from .models import Service


@dataclass
class RecoveryStep:
    position: int
    service: Service
    waits_for: list = field(default_factory=list)  # the nearest down services it depends on
    depth: int = 0  # 0 for a service that waits for nothing; a column of the picture


def waits_for(down_ids, graph):
    """For each down service, the nearest down services along its dependencies."""
    down = set(down_ids)
    result = {}
    for start in down:
        found, seen, stack = set(), {start}, [start]
        while stack:
            for nxt in graph.needs.get(stack.pop(), ()):
                if nxt in seen:
                    continue
                seen.add(nxt)
                if nxt in down:
                    found.add(nxt)  # that one waits in turn for what lies beyond it
                else:
                    stack.append(nxt)
        result[start] = found
    return result


def tie_key(service):
    """Shorter RTO first (an unassessed one last), then the more critical tier, then the name."""
    rto = service.rto_minutes
    return (rto is None, rto or 0, service.tier, service.name, service.pk)


def order(ids, waits, key):
    """Kahn's algorithm with a heap: of the services whose dependencies are all up, the one with
    the smallest key goes next. `waits` must be acyclic, which the catalogue guarantees."""
    remaining = {node: len(waits.get(node, ())) for node in ids}
    unblocks = {node: [] for node in ids}
    for node in ids:
        for dependency in waits.get(node, ()):
            unblocks[dependency].append(node)
    ready = [(key(node), node) for node, count in remaining.items() if count == 0]
    heapq.heapify(ready)
    result = []
    while ready:
        _, node = heapq.heappop(ready)
        result.append(node)
        for dependent in unblocks[node]:
            remaining[dependent] -= 1
            if remaining[dependent] == 0:
                heapq.heappush(ready, (key(dependent), dependent))
    if len(result) != len(remaining):
        raise ValueError("the dependencies of the down services contain a cycle")
    return result


def recovery_order(services_down, graph=None):
    """RecoverySteps for the given services (instances or ids), in the order to restore them."""
    ids = {getattr(service, "pk", service) for service in services_down}
    services = {service.pk: service for service in Service.objects.filter(pk__in=ids)}
    graph = graph or DependencyGraph.load()
    waits = waits_for(services, graph)
    sequence = order(list(services), waits, lambda pk: tie_key(services[pk]))
    depth = {}
    steps = []
    for position, pk in enumerate(sequence, start=1):
        before = sorted((services[w] for w in waits[pk]), key=lambda s: (depth[s.pk], s.name))
        depth[pk] = 1 + max((depth[s.pk] for s in before), default=-1)
        steps.append(RecoveryStep(position, services[pk], before, depth[pk]))
    return steps
