"""`tocsin check` on escalation: the final fallback, services without a policy, unpaged incidents."""

from tocsin.core.config_checks import run_all
from tocsin.escalation import checks

from .conftest import T0, tier


def messages(found):
    return [(f.level, f.message) for f in found]


def test_a_missing_final_fallback_is_reported(db, person, make_user):
    assert checks.fallback_findings(T0)[0].level == "warning"
    person("Root", user=make_user("root", roles=["admin"]))
    assert checks.fallback_findings(T0)[0].level == "ok"


def test_services_without_a_policy_are_named(person, service, policy):
    found = checks.unlinked_service_findings()
    assert found[0].level == "warning" and "Payments" in found[0].message
    policy(tier(person("Ana")))
    assert checks.unlinked_service_findings()[0].level == "ok"


def test_unpaged_open_incidents_are_counted(clock, trigger):
    trigger()
    clock.at(T0)
    assert "1 open incident(s)" in checks.unpaged_findings()[0].message
    assert any("escalation:" in f.message for f in run_all())

