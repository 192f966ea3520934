import pytest

from tocsin.core import audit
from tocsin.directory import services

SYSTEM = audit.Actor.system("test")


@pytest.fixture
def make_person(db):
    def make(name="Ana Silva", teams=(), **fields):
        return services.create_person(actor=SYSTEM, source="cli", name=name, teams=list(teams), **fields)

    return make


@pytest.fixture
def make_role(db):
    def make(name="Network on-call", **fields):
        return services.create_role(actor=SYSTEM, name=name, **fields)

    return make


@pytest.fixture
def phone(db):
    def add(person, number="+49 30 1234567", **fields):
        return services.add_method(actor=SYSTEM, source="cli", person=person, kind="sms", value=number, **fields)

    return add
