"""Fixtures for the incident API and pages: two teams with a service each, people, users with and
without the right to respond, and incidents triggered on those services."""

import pytest

from tocsin.catalog import services as catalog
from tocsin.core import audit
from tocsin.incidents import services as incidents

SYSTEM = audit.Actor.system("test")
JSON = "application/json"


@pytest.fixture
def teams(make_team):
    return {"platform": make_team("Platform"), "network": make_team("Network")}


@pytest.fixture
def payments(teams):
    return catalog.create_service(actor=SYSTEM, source="cli", name="Payments", kind="technical",
                                  owner_team=teams["platform"], tier=2)


@pytest.fixture
def routing(teams):
    return catalog.create_service(actor=SYSTEM, source="cli", name="Routing", kind="technical",
                                  owner_team=teams["network"], tier=2)


@pytest.fixture
def trigger(payments):
    def make(title="Card payments failing", service=None, **fields):
        return incidents.trigger_incident(service or payments, title, actor=SYSTEM, **fields)

    return make


@pytest.fixture
def responder_user(make_user, teams, person):
    """A responder of the platform team, known in the directory as Ada."""
    user = make_user("ada", roles=["responder"], teams=["platform"])
    person("Ada Lovelace", user=user)
    return user


@pytest.fixture
def viewer_user(make_user, teams):
    return make_user("vic", roles=["viewer"])


@pytest.fixture
def network_user(make_user, teams):
    """A responder of the network team only: may read platform incidents, not act on them."""
    return make_user("nell", roles=["responder"], teams=["network"])
