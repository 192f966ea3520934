"""Business impact analysis: durations, the strict impact grid, RTO within MTPD, and the warnings."""

import pytest
from django.core.exceptions import ValidationError

from tocsin.catalog import services
from tocsin.catalog.checks import bia_warnings, catalog_warnings
from tocsin.catalog.durations import humanise, parse_minutes
from tocsin.catalog.impact import empty_grid
from tocsin.catalog.models import Service
from tocsin.core.models import AuditEntry

from .conftest import SYSTEM


@pytest.mark.parametrize("text, minutes", [
    ("30m", 30), ("4h", 240), ("2d", 2880), ("1d 4h", 1680), ("90", 90), (45, 45), ("", None), (None, None),
    ("1w", 10080), ("15 min", 15),
])
def test_durations_parse(text, minutes):
    assert parse_minutes(text, "rto") == minutes


@pytest.mark.parametrize("text", ["4 hours", "h", "-5", "4h later", True, 10**9, "99999d"])
def test_bad_durations_name_the_field(text):
    with pytest.raises(ValidationError) as refused:
        parse_minutes(text, "mtpd")
    assert "mtpd" in refused.value.message_dict


def test_durations_are_humanised():
    assert [humanise(m) for m in (None, 0, 30, 240, 1680)] == ["—", "0m", "30m", "4h", "1d 4h"]


def test_rto_beyond_mtpd_is_refused_and_nothing_is_saved(make_service):
    service = make_service("payments", rto="1h", mtpd="4h")
    with pytest.raises(ValidationError) as refused:
        services.set_bia(service, actor=SYSTEM, rto="8h", rpo="5m", mtpd="4h", impact=empty_grid())
    assert "exceeds the MTPD" in refused.value.message_dict["rto"][0]
    service.refresh_from_db()
    assert (service.rto_minutes, service.rpo_minutes, service.mtpd_minutes, service.impact) == (60, None, 240, {})
    assert not AuditEntry.objects.filter(action="catalog.bia.set", summary__rto_minutes__to=480).exists()


def test_the_impact_grid_is_validated_strictly(make_service):
    service = make_service("payments")
    grid = empty_grid()
    grid["financial"]["24h"] = 5
    with pytest.raises(ValidationError, match="financial rating at 24h"):
        services.set_bia(service, actor=SYSTEM, impact=grid)
    with pytest.raises(ValidationError, match="Unknown impact category 'moral'"):
        services.set_bia(service, actor=SYSTEM, impact={**empty_grid(), "moral": {}})
    partial = empty_grid()
    del partial["reputational"]["72h"]
    with pytest.raises(ValidationError, match="every horizon"):
        services.set_bia(service, actor=SYSTEM, impact=partial)
    grid["financial"]["24h"] = 4
    services.set_bia(service, actor=SYSTEM, impact=grid)
    assert Service.objects.get(pk=service.pk).impact["financial"]["24h"] == 4


def test_impact_falling_over_time_is_a_warning_not_an_error(make_service):
    service = make_service("payments")
    grid = empty_grid()
    grid["operational"].update({"1h": 3, "4h": 1, "24h": 1, "72h": 2})
    services.set_bia(service, actor=SYSTEM, impact=grid)
    assert [w.message for w in bia_warnings(service)] == [
        "payments: operational impact falls from major at 1h to minor at 4h; impact normally grows the longer an outage lasts."
    ]


def test_a_less_critical_supporter_of_a_business_service_is_warned_about(make_service, depend):
    shop = make_service("Online Shop", kind="business", tier=1, rto="2h", mtpd="8h")
    api = make_service("checkout-api", tier=1, rto="1h", mtpd="4h")
    db = make_service("postgres", tier=3, rto="30m", mtpd="4h")
    depend(shop, api)
    depend(api, db)  # through checkout-api: the shop still rests on it
    warnings = catalog_warnings()
    assert [w.code for w in warnings] == ["tier-below-business"]
    assert warnings[0].message.startswith("postgres (tier 3) supports the business service Online Shop (tier 1)")
    assert bia_warnings(db) == bia_warnings(shop) == warnings
    assert bia_warnings(api) == []


def test_a_dependency_with_a_longer_rto_is_warned_about(make_service, depend):
    api = make_service("checkout-api", rto="1h", mtpd="4h")
    db = make_service("postgres", rto="4h", mtpd="8h")
    depend(api, db)
    assert [w.message for w in bia_warnings(api)] == [
        "checkout-api has an RTO of 1h but depends on postgres, whose RTO is 4h."
    ]


def test_tier_out_of_range_is_refused(make_service):
    service = make_service("payments")
    for tier in (0, 5, "1", True):
        with pytest.raises(ValidationError, match="criticality tier"):
            services.update_service(service, actor=SYSTEM, tier=tier)


def test_tocsin_check_counts_the_warnings(make_service, depend):
    from tocsin.core.config_checks import run_all

    shop = make_service("Online Shop", kind="business", tier=1)
    depend(shop, make_service("postgres", tier=3))
    messages = [f.message for f in run_all() if f.message.startswith("catalog:")]
    assert "catalog: 1 impact analysis warning(s): 1 tier-below-business; see /catalog/services/" in messages
