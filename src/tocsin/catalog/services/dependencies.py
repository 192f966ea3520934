"""Use cases for dependency edges: add one (never closing a cycle) and remove one."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from tocsin.core import audit

from ..graph import DependencyGraph
from ..models import Dependency, Service
from ._fields import stamp

_GRAPH_LOCK_ID = 0x70C5_CA7A  # advisory lock id that serialises graph changes on PostgreSQL


def lock_graph():
    """Serialise changes of the graph until the transaction ends: two edges added at once could each be
    acyclic alone and close a cycle together, and an edge added while its service is deleted would vanish.
    On SQLite every transaction begins IMMEDIATE, which already serialises writers."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_GRAPH_LOCK_ID])


def add_dependency(service, depends_on, *, actor, source="ui", note=""):
    """Record that `service` needs `depends_on`; refuse an edge that would close a cycle, naming it."""
    if service.pk == depends_on.pk:
        raise ValidationError({"depends_on": f"{service.name} cannot depend on itself."})
    if service.kind == Service.TECHNICAL and depends_on.kind == Service.BUSINESS:
        raise ValidationError({"depends_on": (
            f"{depends_on.name} is a business service; technical services support business services, "
            "not the other way round."
        )})
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationError({"note": "Keep the note under 200 characters."})
    with transaction.atomic():
        lock_graph()
        if Service.objects.filter(pk__in=[service.pk, depends_on.pk]).count() != 2:
            raise ValidationError({"depends_on": "One of the two services was deleted meanwhile."})
        if Dependency.objects.filter(service=service, depends_on=depends_on).exists():
            raise ValidationError({"depends_on": f"{service.name} already depends on {depends_on.name}."})
        cycle = DependencyGraph.load().cycle_if_added(service.pk, depends_on.pk)
        if cycle:
            names = dict(Service.objects.filter(pk__in=cycle).values_list("pk", "name"))
            raise ValidationError({"depends_on": "Dependency would create a cycle: " + " → ".join(names[pk] for pk in cycle)})
        edge = Dependency(service=service, depends_on=depends_on, note=note)
        stamp(edge, actor, source)
        try:
            with transaction.atomic():
                edge.save()
        except IntegrityError:
            raise ValidationError({"depends_on": f"{service.name} already depends on {depends_on.name}."}) from None
        audit.record(actor, "catalog.dependency.add", service, summary={
            "depends_on": depends_on.pk, "depends_on_name": depends_on.name, "source": source,
        })
    return edge


def remove_dependency(service, depends_on, *, actor, source="ui"):
    """Remove the edge; False if there was none."""
    with transaction.atomic():
        edge = Dependency.objects.filter(service=service, depends_on=depends_on).first()
        if edge is None:
            return False
        stamp(edge, actor, source)
        edge.delete()
        audit.record(actor, "catalog.dependency.remove", service, summary={
            "depends_on": depends_on.pk, "depends_on_name": depends_on.name, "source": source,
        })
    return True
