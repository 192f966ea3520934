"""The dependency graph in memory, loaded in one query, with the walks the catalogue needs."""

from collections import defaultdict, deque

from .models import Dependency


class DependencyGraph:
    """Edges point from a service to what it depends on (ids only)."""

    def __init__(self, edges=()):
        self.needs = defaultdict(set)
        self.needed_by = defaultdict(set)
        for service_id, depends_on_id in edges:
            self.add(service_id, depends_on_id)

    @classmethod
    def load(cls):
        return cls(Dependency.objects.values_list("service_id", "depends_on_id"))

    def add(self, service_id, depends_on_id):
        self.needs[service_id].add(depends_on_id)
        self.needed_by[depends_on_id].add(service_id)

    def path(self, start, goal):
        """The shortest chain start → … → goal along dependencies, or None."""
        previous = {start: None}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            if node == goal:
                chain = []
                while node is not None:
                    chain.append(node)
                    node = previous[node]
                return chain[::-1]
            for nxt in sorted(self.needs.get(node, ())):
                if nxt not in previous:
                    previous[nxt] = node
                    queue.append(nxt)
        return None

    def cycle_if_added(self, service_id, depends_on_id):
        """The cycle an edge service → depends_on would close, as ids from `service_id` back to
        itself, or None. A cycle exists exactly when `depends_on` already reaches `service`."""
        if service_id == depends_on_id:
            return [service_id, service_id]
        back = self.path(depends_on_id, service_id)
        return [service_id, *back] if back else None

    def all_dependencies(self, service_id):
        """Every service `service_id` needs, directly or through others."""
        return self._walk(service_id, self.needs)

    def all_dependents(self, service_id):
        """Every service that needs `service_id`, directly or through others."""
        return self._walk(service_id, self.needed_by)

    @staticmethod
    def _walk(start, adjacency):
        seen, stack = set(), [start]
        while stack:
            for nxt in adjacency.get(stack.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        seen.discard(start)
        return seen
