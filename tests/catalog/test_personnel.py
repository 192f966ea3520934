"""Critical personnel: owners and on-call people of the services with RTO ≤ N, with coverage gaps."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tocsin.catalog import personnel
from tocsin.catalog.personnel import critical_personnel
from tocsin.directory import services as directory_services
from tocsin.oncall import services as oncall_services

from .conftest import SYSTEM


def test_owners_on_call_and_gaps(make_service, depend, teams):
    owner = directory_services.create_person(actor=SYSTEM, source="cli", name="Chen Wei", teams=[teams["platform"]])
    on_call = directory_services.create_person(actor=SYSTEM, source="cli", name="Ana Silva", teams=[teams["network"]])
    schedule = oncall_services.create_schedule(actor=SYSTEM, name="Network", team=teams["network"])
    oncall_services.add_layer(schedule, actor=SYSTEM, name="Everyone", start_date=date(2026, 1, 5),
                              participants=[on_call])
    api = make_service("checkout-api", rto="1h", mtpd="4h", owner=owner)
    dns = make_service("dns", team="network", rto="8h", mtpd="1d")
    make_service("reporting", rto="1d", mtpd="3d")
    lonely = make_service("search", rto="2h", mtpd="8h")
    depend(api, dns)
    start = timezone.now()
    rows = critical_personnel(240, start, start + timedelta(hours=12))
    summary = [(r.service.name, r.why, r.owner and r.owner.name, [p.name for p in r.on_call], r.gap) for r in rows]
    assert summary == [
        ("checkout-api", "RTO 1h", "Chen Wei", [], False),
        ("search", "RTO 2h", None, [], True),
        ("dns", "needed by checkout-api", None, ["Ana Silva"], False),
    ]
    assert lonely.pk in {r.service.pk for r in rows if r.gap}


def test_on_call_is_asked_once_for_the_owner_teams_in_the_window(make_service, teams, monkeypatch):
    make_service("search", rto="2h", mtpd="8h")
    make_service("dns", team="network", rto="1d", mtpd="3d")
    asked = []
    monkeypatch.setattr(personnel, "people_on_call", lambda team_ids, start, end: asked.append(
        (set(team_ids), end - start)) or {})
    start = timezone.now()
    rows = critical_personnel(240, start, start + timedelta(hours=12))
    assert asked == [({teams["platform"].pk}, timedelta(hours=12))] and [r.gap for r in rows] == [True]


def test_the_window_is_bounded(db):
    now = timezone.now()
    with pytest.raises(ValidationError, match="after the start"):
        critical_personnel(60, now, now)
    with pytest.raises(ValidationError, match="31 days"):
        critical_personnel(60, now, now + timedelta(days=40))
