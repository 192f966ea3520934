"""Warnings of one service: the same as the catalogue's that concern it, computed from its surroundings."""

import random

import pytest

from tocsin.catalog import checks
from tocsin.catalog.checks import bia_warnings, catalog_warnings
from tocsin.catalog.impact import empty_grid
from tocsin.catalog.models import Dependency, Service

# session, user, MFA policy, roles, memberships; the service, its sites, its edges both ways;
# the graph and the services around it for the warnings; its legacy exceptions.
QUERIES = 12


def _random_catalogue(rng, teams):
    """Twelve services with random kinds, tiers, RTOs and impact grids, and acyclic edges (lower index
    depends on higher), technical services never depending on business ones."""
    made = []
    for n in range(12):
        grid = empty_grid()
        if rng.random() < 0.3:
            grid["financial"].update({"1h": 3, "4h": rng.randint(0, 4)})
        made.append(Service.objects.create(
            name=f"svc-{n:02d}", slug=f"svc-{n:02d}", owner_team=teams["platform"], tier=rng.randint(1, 4),
            kind=rng.choice([Service.TECHNICAL, Service.BUSINESS]), impact=grid,
            rto_minutes=rng.choice([None, 30, 60, 240, 1440]),
        ))
    for i, service in enumerate(made):
        for other in made[i + 1:]:
            if rng.random() < 0.25 and not (service.kind == Service.TECHNICAL and other.is_business):
                Dependency.objects.create(service=service, depends_on=other)
    return made


@pytest.mark.parametrize("seed", range(8))
def test_one_services_warnings_are_the_catalogues_that_concern_it(teams, seed):
    made = _random_catalogue(random.Random(seed), teams)
    everything = catalog_warnings()
    for service in made:
        assert bia_warnings(service) == [w for w in everything if service.pk in w.service_ids], service.name


def test_unrelated_services_are_not_examined(make_service, depend, monkeypatch):
    shop = make_service("Online Shop", kind="business", tier=1)
    api = make_service("checkout-api", tier=2)
    depend(shop, api)
    for n in range(5):
        make_service(f"unrelated-{n}")
    examined = []
    falling_ratings = checks.falling_ratings
    monkeypatch.setattr(checks, "falling_ratings", lambda grid: examined.append(grid) or falling_ratings(grid))
    assert [w.service_ids for w in bia_warnings(api)] == [(api.pk, shop.pk)]
    assert len(examined) == 1  # only checkout-api's own grid


def test_the_service_page_costs_the_same_queries_whatever_the_catalogue(make_service, depend, login, make_user,
                                                                          django_assert_num_queries):
    shop = make_service("Online Shop", kind="business", tier=1, rto="2h", mtpd="8h")
    db = make_service("postgres", tier=3, rto="4h", mtpd="8h")
    depend(shop, db)
    client = login(make_user("vera", roles=["viewer"]))
    client.get(f"/catalog/services/{db.pk}/")  # session and permission caches warm
    with django_assert_num_queries(QUERIES):
        client.get(f"/catalog/services/{db.pk}/")
    for n in range(20):
        depend(make_service(f"svc-{n:02d}", kind="business", tier=1, rto="1h", mtpd="2h"), db)
    with django_assert_num_queries(QUERIES):
        page = client.get(f"/catalog/services/{db.pk}/")
    assert page.content.decode().count("supports the business service") == 21

