"""Critical personnel: owners and on-call people of the services with RTO ≤ N, with coverage gaps."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tocsin.catalog import personnel
from tocsin.catalog.personnel import critical_personnel
from tocsin.directory import services as directory_services

from .conftest import SYSTEM


def test_owners_on_call_and_gaps(make_service, depend, teams, monkeypatch):
    owner = directory_services.create_person(actor=SYSTEM, source="cli", name="Chen Wei", teams=[teams["platform"]])
    on_call = directory_services.create_person(actor=SYSTEM, source="cli", name="Ana Silva", teams=[teams["network"]])
    api = make_service("checkout-api", rto="1h", mtpd="4h", owner=owner)
    dns = make_service("dns", team="network", rto="8h", mtpd="1d")
    make_service("reporting", rto="1d", mtpd="3d")
    lonely = make_service("search", rto="2h", mtpd="8h")
    depend(api, dns)
    asked = {}

    def fake_on_call(team_ids, start, end):
        asked.update(teams=set(team_ids), window=end - start)
        return {teams["network"].pk: [on_call]}

    monkeypatch.setattr(personnel, "_on_call", fake_on_call)
    start = timezone.now()
    rows, known = critical_personnel(240, start, start + timedelta(hours=12))
    assert known and asked == {"teams": {teams["platform"].pk, teams["network"].pk}, "window": timedelta(hours=12)}
    summary = [(r.service.name, r.why, r.owner and r.owner.name, [p.name for p in r.on_call], r.gap) for r in rows]
    assert summary == [
        ("checkout-api", "RTO 1h", "Chen Wei", [], False),
        ("search", "RTO 2h", None, [], True),
        ("dns", "needed by checkout-api", None, ["Ana Silva"], False),
    ]
    assert lonely.pk in {r.service.pk for r in rows if r.gap}


def test_without_on_call_data_only_owners_count(make_service, monkeypatch):
    make_service("search", rto="2h", mtpd="8h")
    monkeypatch.setattr(personnel, "_on_call", lambda *args: None)
    rows, known = critical_personnel(240, timezone.now(), timezone.now() + timedelta(hours=1))
    assert not known and [r.gap for r in rows] == [True]


def test_the_window_is_bounded(db):
    now = timezone.now()
    with pytest.raises(ValidationError, match="after the start"):
        critical_personnel(60, now, now)
    with pytest.raises(ValidationError, match="31 days"):
        critical_personnel(60, now, now + timedelta(days=40))
