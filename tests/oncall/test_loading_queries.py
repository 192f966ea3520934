"""Who is on call is loaded in a fixed number of queries, whatever the number of schedules."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tocsin.directory import services as directory
from tocsin.oncall import selectors, services
from tocsin.oncall.loading import load_plans
from tocsin.oncall.models import Schedule

from .conftest import SYSTEM

AT = datetime(2026, 2, 2, 12, tzinfo=UTC)
ZONES = ["UTC", "Europe/Berlin", "America/Chicago", "Asia/Singapore"]


@pytest.fixture
def grow(schedule, layer, person):
    """Adds schedules with two layers (people and a role), an override and a delegation each."""

    def add(count):
        for _ in range(count):
            n = Schedule.objects.count()
            sched = schedule(f"S{n}", time_zone=ZONES[n % len(ZONES)])
            ana, ben, chen = person(f"A{n}"), person(f"B{n}"), person(f"C{n}")
            role = directory.create_role(actor=SYSTEM, name=f"R{n}")
            directory.assign_holder(role, chen, actor=SYSTEM, starts_at=AT - timedelta(days=30))
            layer(sched, [ana, ben], rotation="weekly", handoff_time=time(9))
            layer(sched, [role, ben], rotation="daily", handoff_time=time(18),
                  restrictions=[{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}])
            services.add_override(sched, actor=SYSTEM, person=chen, replaces=ben,
                                  starts_at=AT - timedelta(hours=1), ends_at=AT + timedelta(hours=1))
            directory.delegate(ana, chen, actor=SYSTEM, starts_at=AT - timedelta(days=1), ends_at=AT + timedelta(days=1))

    return add


def count_queries(run):
    with CaptureQueriesContext(connection) as captured:
        result = run()
    return len(captured), result


def test_load_plans_and_oncall_everywhere_use_constant_queries(grow):
    grow(3)
    plans_small, (plans, _) = count_queries(lambda: load_plans(Schedule.objects.all(), AT, AT + timedelta(days=14)))
    everywhere_small, found = count_queries(lambda: selectors.oncall_everywhere(AT))
    assert len(plans) == 3 and all(found.values())
    grow(27)
    plans_large, (plans, _) = count_queries(lambda: load_plans(Schedule.objects.all(), AT, AT + timedelta(days=14)))
    everywhere_large, found = count_queries(lambda: selectors.oncall_everywhere(AT))
    assert len(plans) == 30 and len(found) == 30 and all(found.values())
    assert (plans_large, everywhere_large) == (plans_small, everywhere_small)
    assert plans_small <= 7 and everywhere_small <= 10


def test_gaps_ahead_uses_constant_queries(grow):
    grow(3)
    small, _ = count_queries(lambda: selectors.gaps_ahead(now=AT))
    grow(27)
    large, gaps = count_queries(lambda: selectors.gaps_ahead(now=AT))
    assert large == small and gaps == {}
