"""Recovery order: every service after what it depends on, ties by RTO, tier and name."""

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from tocsin.catalog.graph import DependencyGraph
from tocsin.catalog.recovery import order, recovery_order, tie_key, waits_for


def _names(steps):
    return [step.service.name for step in steps]


def test_a_diamond_comes_up_from_the_bottom(make_service, depend):
    a = make_service("A", rto="4h", mtpd="8h")
    b = make_service("B", rto="2h", mtpd="8h")
    c = make_service("C", rto="1h", mtpd="8h")
    d = make_service("D", rto="8h", mtpd="1d")
    depend(a, b, c)
    depend(b, d)
    depend(c, d)
    steps = recovery_order([a, b, c, d])
    # D first although its RTO is the longest; then C before B (shorter RTO); A last.
    assert _names(steps) == ["D", "C", "B", "A"]
    assert [s.position for s in steps] == [1, 2, 3, 4]
    assert {s.service.name: sorted(w.name for w in s.waits_for) for s in steps} == {
        "D": [], "C": ["D"], "B": ["D"], "A": ["B", "C"],
    }
    assert [s.depth for s in steps] == [0, 1, 1, 2]


def test_ties_go_to_rto_then_tier_then_name(make_service):
    make_service("zeta", tier=1, rto="1h", mtpd="2h")
    make_service("alpha", tier=2, rto="1h", mtpd="2h")
    make_service("beta", tier=1, rto="1h", mtpd="2h")
    make_service("unassessed", tier=1)
    make_service("quick", tier=4, rto="15m", mtpd="2h")
    from tocsin.catalog.models import Service

    assert _names(recovery_order(Service.objects.all())) == ["quick", "beta", "zeta", "alpha", "unassessed"]


def test_a_down_service_waits_for_down_ones_behind_an_up_service(make_service, depend):
    app, middleware, db = make_service("app"), make_service("middleware"), make_service("db")
    depend(app, middleware)
    depend(middleware, db)
    steps = recovery_order([app.pk, db.pk])  # middleware is still up
    assert _names(steps) == ["db", "app"]
    assert [w.name for w in steps[1].waits_for] == ["db"]


def _service(pk, rto, tier):
    return SimpleNamespace(pk=pk, rto_minutes=rto, tier=tier, name=f"s{pk:03d}")


@st.composite
def dags(draw):
    size = draw(st.integers(min_value=1, max_value=14))
    nodes = {pk: _service(pk, draw(st.one_of(st.none(), st.integers(0, 600))), draw(st.integers(1, 4)))
             for pk in range(size)}
    # An edge only from a higher number to a lower one: acyclic by construction.
    edges = draw(st.sets(st.tuples(st.integers(0, size - 1), st.integers(0, size - 1)).filter(lambda e: e[0] > e[1])))
    down = draw(st.sets(st.sampled_from(sorted(nodes)), min_size=1))
    return nodes, edges, down


@given(dags(), st.randoms())
def test_every_dependency_comes_first_and_the_order_is_deterministic(dag, rng):
    nodes, edges, down = dag
    graph = DependencyGraph(edges)
    waits = waits_for(down, graph)
    result = order(sorted(down), waits, lambda pk: tie_key(nodes[pk]))
    assert sorted(result) == sorted(down)
    position = {pk: index for index, pk in enumerate(result)}
    for service in down:
        for needed in graph.all_dependencies(service) & down:
            assert position[needed] < position[service]
    shuffled = sorted(down)
    rng.shuffle(shuffled)
    shuffled_edges = list(edges)
    rng.shuffle(shuffled_edges)
    assert order(shuffled, waits_for(set(shuffled), DependencyGraph(shuffled_edges)), lambda pk: tie_key(nodes[pk])) == result
    # Whatever is placed next is the smallest key among the services whose dependencies are all up.
    placed = set()
    for pk in result:
        ready = [n for n in down - placed if waits[n] <= placed]
        assert pk == min(ready, key=lambda n: tie_key(nodes[n]))
        placed.add(pk)
