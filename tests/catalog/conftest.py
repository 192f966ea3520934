import pytest

from tocsin.catalog import services
from tocsin.core import audit

SYSTEM = audit.Actor.system("test")


@pytest.fixture
def teams(make_team):
    return {"network": make_team("Network"), "platform": make_team("Platform")}


@pytest.fixture
def make_service(teams):
    def make(name, *, team="platform", tier=3, kind="technical", rto=None, mtpd=None, **fields):
        service = services.create_service(
            actor=SYSTEM, source="cli", name=name, kind=kind, owner_team=teams[team], tier=tier, **fields
        )
        if rto is not None or mtpd is not None:
            services.set_bia(service, actor=SYSTEM, source="cli", rto=rto, mtpd=mtpd)
        return service

    return make


@pytest.fixture
def depend(db):
    def add(service, *others):
        for other in others:
            services.add_dependency(service, other, actor=SYSTEM, source="cli")

    return add
