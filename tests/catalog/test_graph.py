"""The dependency graph: edges that would close a cycle are refused, naming the cycle."""

import pytest
from django.core.exceptions import ValidationError

from tocsin.catalog import services
from tocsin.catalog.graph import DependencyGraph
from tocsin.catalog.models import Dependency
from tocsin.core.models import AuditEntry

from .conftest import SYSTEM


def test_a_three_node_cycle_is_refused_and_named(make_service, depend):
    billing, payments, db = make_service("billing"), make_service("payments"), make_service("db")
    depend(billing, payments)
    depend(payments, db)
    with pytest.raises(ValidationError) as refused:
        services.add_dependency(db, billing, actor=SYSTEM)
    assert refused.value.message_dict["depends_on"] == ["Dependency would create a cycle: db → billing → payments → db"]
    assert Dependency.objects.count() == 2


def test_a_two_node_cycle_and_a_self_edge_are_refused(make_service, depend):
    api, cache = make_service("api"), make_service("cache")
    depend(api, cache)
    with pytest.raises(ValidationError, match="cycle: cache → api → cache"):
        services.add_dependency(cache, api, actor=SYSTEM)
    with pytest.raises(ValidationError, match="cannot depend on itself"):
        services.add_dependency(api, api, actor=SYSTEM)
    with pytest.raises(ValidationError, match="already depends on"):
        services.add_dependency(api, cache, actor=SYSTEM)


def test_diamonds_are_not_cycles_and_the_graph_loads_in_one_query(make_service, depend, django_assert_num_queries):
    a, b, c, d = (make_service(n) for n in "ABCD")
    depend(a, b, c)
    depend(b, d)
    depend(c, d)
    with django_assert_num_queries(1):
        graph = DependencyGraph.load()
    assert graph.all_dependencies(a.pk) == {b.pk, c.pk, d.pk}
    assert graph.all_dependents(d.pk) == {a.pk, b.pk, c.pk}
    assert graph.cycle_if_added(d.pk, a.pk) == [d.pk, a.pk, b.pk, d.pk]
    assert graph.cycle_if_added(b.pk, c.pk) is None


def test_technical_services_do_not_depend_on_business_services(make_service):
    shop = make_service("Online Shop", kind="business")
    api = make_service("checkout-api")
    with pytest.raises(ValidationError, match="business service"):
        services.add_dependency(api, shop, actor=SYSTEM)
    services.add_dependency(shop, api, actor=SYSTEM)
    services.add_dependency(make_service("worker"), api, actor=SYSTEM)
    with pytest.raises(ValidationError, match="cannot become a business service"):
        services.update_service(api, actor=SYSTEM, kind="business")
    portal = make_service("Partner Portal", kind="business")
    services.add_dependency(portal, shop, actor=SYSTEM)
    with pytest.raises(ValidationError, match="cannot become technical"):
        services.update_service(portal, actor=SYSTEM, kind="technical")


def test_edges_are_audited_and_removable(make_service, depend):
    api, db = make_service("api"), make_service("db")
    depend(api, db)
    assert AuditEntry.objects.filter(action="catalog.dependency.add", object_id=str(api.pk)).exists()
    assert services.remove_dependency(api, db, actor=SYSTEM) is True
    assert services.remove_dependency(api, db, actor=SYSTEM) is False
    assert AuditEntry.objects.filter(action="catalog.dependency.remove").count() == 1


def test_a_service_others_depend_on_cannot_be_deleted(make_service, depend):
    api, db = make_service("api"), make_service("db")
    depend(api, db)
    with pytest.raises(ValidationError, match="db is needed by api"):
        services.delete_service(db, actor=SYSTEM)
    services.delete_service(api, actor=SYSTEM)
    services.delete_service(db, actor=SYSTEM)
    assert AuditEntry.objects.filter(action="catalog.service.delete").count() == 2
