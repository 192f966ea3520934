import pytest

from tocsin.core import audit
from tocsin.oncall import services

SYSTEM = audit.Actor.system("test")


@pytest.fixture
def schedule(db):
    def make(name="Network primary", time_zone="Europe/Berlin", **fields):
        return services.create_schedule(actor=SYSTEM, name=name, time_zone=time_zone, **fields)

    return make


@pytest.fixture
def layer():
    def make(schedule, participants, **fields):
        fields.setdefault("name", f"Layer {schedule.layers.count() + 1}")
        fields.setdefault("start_date", __import__("datetime").date(2026, 1, 5))
        return services.add_layer(schedule, actor=SYSTEM, participants=participants, **fields)

    return make
