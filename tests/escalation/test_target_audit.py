"""D6: the role-validation audit finds every broken target of every policy and schedule, each with
a fix link; the command, the quarterly engine job and the page run and store it."""

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tocsin.catalog import services as catalog
from tocsin.core.models import AuditEntry
from tocsin.directory import services as directory
from tocsin.directory.models import ContactMethod
from tocsin.directory.services.methods import add_method, mark_verified
from tocsin.directory.services.roles import assign_holder, create_role
from tocsin.engine.models import Job
from tocsin.engine.runner import ensure_periodic, periodic_key
from tocsin.engine.worker import Engine
from tocsin.escalation import services, target_audit
from tocsin.escalation.models import PolicyVersion, TargetAudit
from tocsin.oncall import services as oncall

from .conftest import SYSTEM, tier

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)  # a Monday
EARLIER = NOW - timedelta(days=30)


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def reachable(person, usage=ContactMethod.ROUTINE, verified=True, kind="email"):
    value = f"{person.name.split()[0].lower()}{person.pk}-{usage}@example.com"
    method = add_method(actor=SYSTEM, source="cli", person=person, kind=kind, value=value, usage=usage)
    if verified:
        mark_verified(method, actor=SYSTEM, source="cli")
    return person


@pytest.fixture
def schedule(db):
    def make(name, *participants):
        created = oncall.create_schedule(actor=SYSTEM, name=name, time_zone="UTC")
        if participants:
            oncall.add_layer(created, actor=SYSTEM, name="Primary", participants=list(participants),
                             rotation="weekly", handoff_time=time(9), start_date=date(2026, 1, 5))
        return created

    return make


@pytest.fixture
def admin_person(make_user, person):
    """The installation's final fallback: an administrator with a reachable directory person."""
    return reachable(person("Root Admin", user=make_user("root", roles=["admin"])))


@pytest.fixture
def policy(service):
    """Like conftest's, with names that stay unique when a test makes many policies."""
    made = []

    def make(*tiers, link=True, **fields):
        made.append(None)
        created = services.create_policy(f"Policy {len(made)}", {"tiers": list(tiers), **fields}, actor=SYSTEM)
        if link:
            services.link_service(service, created, actor=SYSTEM)
        return created

    return make


def role_with(name, *holders, ends_at=None):
    role = create_role(actor=SYSTEM, name=name)
    for holder in holders:
        assign_holder(role, holder, actor=SYSTEM, source="cli", starts_at=EARLIER, ends_at=ends_at)
    return role


def target(kind, obj):
    return {"type": kind, "id": obj.pk}


def findings(report, level=None):
    return [(f.level, f.subject, f.message) for f in report.findings if level in (None, f.level)]


def matching(report, level, subject_part, message_part=""):
    return [f for f in report.findings
            if f.level == level and subject_part in f.subject and message_part in f.message]


# --- what the audit finds ----------------------------------------------------------------

def test_a_sound_setup_has_no_error_or_warning(admin_person, person, policy, schedule):
    ana, ben = reachable(person("Ana Ops")), reachable(person("Ben Ops"))
    lead = role_with("Duty manager", ben)
    rota = schedule("Network", ana)
    policy(tier(ana), {"delay_minutes": 10, "targets": [target("role", lead), target("schedule", rota)]},
           fallback=[target("person", admin_person)])

    report = target_audit.run(NOW)

    assert findings(report, "error") == [] and findings(report, "warning") == []
    assert report.checked >= 5 and not report.has_errors


def test_a_person_without_a_verified_method_is_an_error_and_emergency_only_a_warning(admin_person, person, policy):
    unverified = reachable(person("Una Unverified"), verified=False)
    nothing = person("Nils Nomethod")
    emergency = reachable(person("Eve Emergency"), usage=ContactMethod.EMERGENCY_ONLY)
    created = policy(tier(unverified, nothing), tier(emergency))

    report = target_audit.run(NOW)

    [una] = matching(report, "error", f"{created.name} · tier 1 · person Una Unverified")
    assert una.message == "Una Unverified has no verified contact method (1 active method not verified yet)."
    assert una.fix_url == f"/directory/people/{unverified.pk}/"
    [nils] = matching(report, "error", "person Nils Nomethod")
    assert nils.message == "Nils Nomethod has no active contact method."
    [eve] = matching(report, "warning", f"{created.name} · tier 2 · person Eve Emergency")
    assert "only emergency-only verified contact methods" in eve.message
    assert report.has_errors


def test_an_inactive_method_does_not_count(admin_person, person, policy):
    ana = reachable(person("Ana Ops"))
    ContactMethod.objects.filter(person=ana).update(is_active=False)
    policy(tier(ana))

    assert matching(target_audit.run(NOW), "error", "person Ana Ops", "no active contact method")


def test_a_deactivated_person_is_an_error_that_points_at_the_policy(admin_person, person, policy):
    gone = reachable(person("Gus Gone"))
    created = policy(tier(gone), tier(admin_person))
    directory.deactivate_person(gone, actor=SYSTEM, source="cli")

    [found] = matching(target_audit.run(NOW), "error", "tier 1 · person Gus Gone")
    assert found.message == "Gus Gone is deactivated: replace them in the policy."
    assert found.fix_url == f"/escalation/policies/{created.pk}/edit/"


def test_a_role_without_holder_is_an_error_with_the_role_page_as_fix(admin_person, person, policy):
    gone = reachable(person("Gus Gone"))
    empty = role_with("Ghost role")
    left = role_with("Left role", gone)
    created = policy({"delay_minutes": 5, "targets": [target("role", empty)], "backup": [target("role", left)]})
    directory.deactivate_person(gone, actor=SYSTEM, source="cli")

    report = target_audit.run(NOW)

    [ghost] = matching(report, "error", f"{created.name} · tier 1 · role Ghost role")
    assert ghost.message == "Role Ghost role has no current holder, so it pages nobody."
    assert ghost.fix_url == "/directory/roles/#role-ghost-role"
    [left_found] = matching(report, "error", "tier 1 backup · role Left role")
    assert "has no current holder" in left_found.message


def test_a_role_holder_who_no_longer_holds_it_is_not_a_holder(admin_person, person, policy):
    ana = reachable(person("Ana Ops"))
    role = create_role(actor=SYSTEM, name="Duty manager")
    assign_holder(role, ana, actor=SYSTEM, source="cli", starts_at=EARLIER, ends_at=NOW - timedelta(days=1))
    policy({"delay_minutes": 5, "targets": [target("role", role)]})

    assert matching(target_audit.run(NOW), "error", "role Duty manager", "no current holder")


def test_each_holder_of_a_role_must_be_reachable(admin_person, person, policy):
    ana, ben = reachable(person("Ana Ops")), person("Ben Ops")
    role = role_with("Duty manager", ana, ben)
    policy({"delay_minutes": 5, "targets": [target("role", role)]})

    report = target_audit.run(NOW)

    [found] = matching(report, "error", "role Duty manager · holder Ben Ops")
    assert found.fix_url == f"/directory/people/{ben.pk}/"
    assert not matching(report, "error", "holder Ana Ops")


def test_whoever_stands_in_for_a_target_must_be_reachable_too(admin_person, person, policy):
    ana, ben, cleo = reachable(person("Ana Ops")), person("Ben Ops"), person("Cleo Ops")
    role = role_with("Duty manager", cleo)
    reachable(cleo)
    until = NOW + timedelta(days=3)
    directory.delegate(ana, ben, actor=SYSTEM, source="cli", starts_at=NOW - timedelta(days=1), ends_at=until)
    directory.delegate(cleo, ana, actor=SYSTEM, source="cli", starts_at=NOW - timedelta(days=1), ends_at=until)
    policy(tier(ana), {"delay_minutes": 5, "targets": [target("role", role)]})

    report = target_audit.run(NOW)

    [direct] = matching(report, "error", "tier 1 · person Ana Ops")
    assert direct.message == ("Ben Ops (standing in for Ana Ops until 2026-03-05 12:00 UTC) "
                              "has no active contact method.")
    assert direct.fix_url == f"/directory/people/{ben.pk}/"
    # Cleo → Ana → Ben: the chain is followed as resolution.delegate_for does.
    [chained] = matching(report, "error", "tier 2 · role Duty manager · holder Cleo Ops")
    assert chained.message.startswith("Ben Ops (standing in for Cleo Ops until")


def test_a_holding_that_ends_within_14_days_is_a_warning(admin_person, person, policy):
    ana, ben = reachable(person("Ana Ops")), reachable(person("Ben Ops"))
    soon = role_with("Duty manager", ana, ends_at=NOW + timedelta(days=5))
    covered = role_with("Network lead", ben, ends_at=NOW + timedelta(days=3))
    assign_holder(covered, ana, actor=SYSTEM, source="cli", starts_at=NOW + timedelta(days=2))
    later = role_with("Security lead", ana, ends_at=NOW + timedelta(days=20))
    policy({"delay_minutes": 5, "targets": [target("role", soon), target("role", covered), target("role", later)]})

    report = target_audit.run(NOW)

    [found] = matching(report, "warning", "role Duty manager")
    assert found.message == ("Ana Ops's holding of role Duty manager ends on 2026-03-07 12:00 UTC; "
                             "nobody holds the role after that.")
    assert found.fix_url == "/directory/roles/#role-duty-manager"
    [handed_over] = matching(report, "warning", "role Network lead")
    assert handed_over.message == "Ben Ops's holding of role Network lead ends on 2026-03-05 12:00 UTC."
    assert not matching(report, "warning", "role Security lead")


def test_a_schedule_with_nobody_on_call_is_an_error(admin_person, person, policy, schedule):
    empty = schedule("Database nights")
    created = policy({"delay_minutes": 5, "targets": [target("schedule", empty)]})

    report = target_audit.run(NOW)

    [on_policy] = matching(report, "error", f"{created.name} · tier 1 · schedule Database nights")
    assert on_policy.message == "Nobody is on call on Database nights now, so this target pages nobody."
    assert on_policy.fix_url == f"/oncall/{empty.slug}/"
    [on_schedule] = matching(report, "error", "Schedule Database nights", "Nobody is on call now")
    assert on_schedule.fix_url == f"/oncall/{empty.slug}/"


def test_the_people_on_a_schedule_must_be_reachable_and_vacancies_are_reported(admin_person, person, schedule):
    ben, gus = person("Ben Ops"), reachable(person("Gus Gone"))
    lead = role_with("Duty manager")
    rota = schedule("Network", gus, lead, ben)  # week 8 of the rotation: Ben
    directory.deactivate_person(gus, actor=SYSTEM, source="cli")

    report = target_audit.run(NOW)

    [unreachable] = matching(report, "error", "Schedule Network", "has no active contact method")
    assert unreachable.message == "Ben Ops (on call now) has no active contact method."
    assert unreachable.fix_url == f"/directory/people/{ben.pk}/"
    vacancies = [f.message for f in matching(report, "warning", "Schedule Network", "Vacancy")]
    assert vacancies == ["Vacancy in Primary: Gus Gone is deactivated.",
                         "Vacancy in Primary: role Duty manager has no active holder."]
    assert all(f.fix_url == f"/oncall/{rota.slug}/" for f in matching(report, "warning", "Schedule Network"))


def test_role_participants_of_a_schedule_are_checked_through_their_holders(admin_person, person, schedule):
    ana, ben = reachable(person("Ana Ops")), person("Ben Ops")
    lead = role_with("Duty manager", ben, ends_at=NOW + timedelta(days=2))
    schedule("Network", ana, lead)

    report = target_audit.run(NOW)

    [found] = matching(report, "error", "Schedule Network", "has no active contact method")
    assert found.message == "Ben Ops (holds role Duty manager in layer Primary) has no active contact method."
    assert matching(report, "warning", "Schedule Network · layer Primary · role Duty manager", "ends on")


def test_unlinked_policies_are_info_and_services_without_policy_a_warning(admin_person, person, policy, service):
    ana = reachable(person("Ana Ops"))
    linked = policy(tier(ana))
    spare = policy(tier(ana), link=False)
    ledger = catalog.create_service(actor=SYSTEM, source="cli", name="Ledger", kind="technical",
                                    owner_team=service.owner_team, tier=3)

    report = target_audit.run(NOW)

    assert [(f.subject, f.fix_url) for f in report.findings if f.level == "info"] == [
        (spare.name, f"/escalation/policies/{spare.pk}/")]
    [unlinked] = matching(report, "warning", "Service Ledger")
    assert "page only the installation's final fallback" in unlinked.message
    assert unlinked.fix_url == f"/catalog/services/{ledger.pk}/"
    assert not matching(report, "warning", "Service Payments")
    assert not matching(report, "info", linked.name)


def test_an_installation_without_a_reachable_administrator_is_an_error(make_user, person, policy):
    report = target_audit.run(NOW)
    [found] = matching(report, "error", "Installation fallback", "No active administrator has a directory person")
    assert found.fix_url == "/admin/users/"

    root = person("Root Admin", user=make_user("root", roles=["admin"]))
    [found] = matching(target_audit.run(NOW), "error", "Installation fallback")
    assert found.message == "Root Admin has no active contact method."
    reachable(root)
    assert not matching(target_audit.run(NOW), "error", "Installation fallback")


def test_a_stored_version_the_validator_refuses_now_is_an_error(admin_person, policy):
    created = policy(tier(admin_person))
    PolicyVersion.objects.filter(pk=created.current_id).update(spec={"tiers": []})

    [found] = matching(target_audit.run(NOW), "error", created.name, "no longer valid")
    assert found.message == "Version 1 is no longer valid (tiers: A policy needs at least one tier.)."
    assert found.fix_url == f"/escalation/policies/{created.pk}/edit/"


def test_errors_come_first_then_warnings_then_info(admin_person, person, policy):
    policy(tier(reachable(person("Eve"), usage=ContactMethod.EMERGENCY_ONLY)), tier(person("Nils")))
    policy(tier(admin_person), link=False)
    levels = [f.level for f in target_audit.run(NOW).findings]
    assert levels == sorted(levels, key=["error", "warning", "info"].index)
    assert set(levels) == {"error", "warning", "info"}


def test_the_audit_loads_in_bulk_whatever_the_number_of_policies(admin_person, person, policy, schedule):
    def build(n):
        for i in range(n):
            people = [reachable(person(f"P{n}-{i}-{k}")) for k in range(3)]
            role = role_with(f"Role {n}-{i}", people[0], ends_at=NOW + timedelta(days=3))
            rota = schedule(f"Rota {n}-{i}", people[1], role)
            policy(tier(people[0], people[2]),
                   {"delay_minutes": 5, "targets": [target("role", role), target("schedule", rota)],
                    "backup": [target("person", people[1])]},
                   fallback=[target("person", people[2])], link=False)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            report = target_audit.run(NOW)
        return len(captured), report

    build(2)
    small, small_report = queries()
    build(12)
    large, large_report = queries()
    assert len(large_report.findings) > len(small_report.findings)
    assert large == small, f"{small} queries for 2 policies, {large} for 14"
    assert large <= 30


# --- storing, the command and the quarterly job -------------------------------------------

def test_store_keeps_the_report_and_audits_its_counts(admin_person, person, policy):
    policy(tier(person("Nils")))
    report = target_audit.run(NOW)
    row = target_audit.store(report, actor=SYSTEM, ran_by="tester")

    row.refresh_from_db()
    assert (row.ran_at, row.ran_by, row.checked) == (NOW, "tester", report.checked)
    assert row.findings == [f.as_dict() for f in report.findings]
    entry = AuditEntry.objects.get(action="escalation.target_audit")
    assert entry.object_id == str(row.pk)
    assert entry.summary == {"checked": report.checked, "error": 1, "warning": 0, "info": 0}


def test_command_exits_1_on_errors_and_stores_the_report(admin_person, person, policy, capsys):
    policy(tier(person("Nils Nomethod")))
    with pytest.raises(SystemExit) as exited:
        call_command("escalation", "audit")
    assert exited.value.code == 1
    out = capsys.readouterr().out
    assert "1 error(s)" in out and "Errors (1):" in out
    assert "ERROR Policy" in out and "Nils Nomethod has no active contact method." in out
    assert "fix: http" in out and "/directory/people/" in out
    assert TargetAudit.objects.get().ran_by == "cli"


def test_command_json_and_no_store(admin_person, person, policy, capsys):
    policy(tier(reachable(person("Ana Ops"))))
    call_command("escalation", "audit", "--json", "--no-store")  # no error: exit 0, no SystemExit
    document = json.loads(capsys.readouterr().out)
    assert document["counts"] == {"error": 0, "warning": 0, "info": 0}
    assert document["ran_at"] == NOW.isoformat() and document["checked"] >= 2
    assert TargetAudit.objects.count() == 0


def test_command_json_lists_findings(admin_person, person, policy, capsys):
    nils = person("Nils Nomethod")
    policy(tier(nils))
    with pytest.raises(SystemExit):
        call_command("escalation", "audit", "--json")
    [finding] = json.loads(capsys.readouterr().out)["findings"]
    assert finding["level"] == "error" and finding["fix_url"] == f"/directory/people/{nils.pk}/"
    assert set(finding) == {"level", "subject", "message", "fix_url"}


def test_command_lists_policies(admin_person, policy, capsys):
    created = policy(tier(admin_person))
    call_command("escalation", "policies")
    assert f"{created.name} (v1, 1 tier, no team): Payments" in capsys.readouterr().out


def test_the_quarterly_job_stores_a_report_once_per_run(admin_person, person, policy):
    policy(tier(person("Nils Nomethod")))
    ensure_periodic(NOW)
    Engine(name="t").run_due(NOW)

    row = TargetAudit.objects.get()
    assert (row.ran_at, row.ran_by) == (NOW, "schedule")
    assert [f["level"] for f in row.findings] == ["error"]
    assert AuditEntry.objects.filter(action="escalation.target_audit", actor_label="schedule").count() == 1
    following = Job.objects.get(key=periodic_key("escalation.target_audit"), state=Job.PENDING)
    assert following.due_at == NOW + timedelta(days=91)

    Engine(name="t").run_due(NOW + timedelta(days=90))
    assert TargetAudit.objects.count() == 1
    Engine(name="t").run_due(NOW + timedelta(days=91))
    assert TargetAudit.objects.count() == 2


# --- the page ------------------------------------------------------------------------------

@pytest.fixture
def users(make_user, make_team):
    make_team("Network")
    return {
        "viewer": make_user("vera", roles=["viewer"]),
        "team_manager": make_user("nora", roles=[("responder", "network")]),
        "admin": make_user("ada", roles=["admin"]),
    }


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def test_page_shows_the_latest_report_with_fix_links_and_earlier_runs(users, admin_person, person, policy):
    nils = person("Nils Nomethod")
    policy(tier(nils))
    first = target_audit.store(target_audit.run(NOW - timedelta(days=91)), actor=SYSTEM, ran_by="schedule")
    reachable(nils)
    latest = target_audit.store(target_audit.run(NOW), actor=SYSTEM, ran_by="schedule")

    response = client_for(users["viewer"]).get("/escalation/audit/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "Every target exists" in body  # the latest run is clean
    assert f'href="/escalation/audit/{first.pk}/"' in body and f'href="/escalation/audit/{latest.pk}/"' in body
    assert 'data-testid="audit-run-now"' not in body  # a viewer may read, not run

    older = client_for(users["viewer"]).get(f"/escalation/audit/{first.pk}/").content.decode()
    assert "Nils Nomethod has no active contact method." in older
    assert f'<a href="/directory/people/{nils.pk}/">Fix</a>' in older


def test_page_without_any_run_and_unknown_report(users):
    body = client_for(users["viewer"]).get("/escalation/audit/").content.decode()
    assert "The audit has not run yet" in body
    assert client_for(users["viewer"]).get("/escalation/audit/999/").status_code == 404


def test_reading_needs_sign_in(db):
    response = Client().get("/escalation/audit/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_run_now_needs_manage_over_every_team(users, admin_person):
    for name in ("viewer", "team_manager"):
        response = client_for(users[name]).post("/escalation/audit/run/")
        assert response.status_code == 403, name
    assert TargetAudit.objects.count() == 0
    assert AuditEntry.objects.filter(action="permission.denied").count() == 2


def test_run_now_stores_a_report_and_shows_it(users, admin_person, person, policy):
    policy(tier(person("Nils Nomethod")))
    client = client_for(users["admin"])
    assert 'data-testid="audit-run-now"' in client.get("/escalation/audit/").content.decode()

    response = client.post("/escalation/audit/run/")

    row = TargetAudit.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/escalation/audit/{row.pk}/"
    assert row.ran_by == "ada"
    entry = AuditEntry.objects.get(action="escalation.target_audit")
    assert entry.actor_label == "ada" and entry.summary["error"] == 1
    page = client.get(response["Location"]).content.decode()
    assert "Nils Nomethod has no active contact method." in page and "1 error(s)" in page


def test_run_now_refuses_get_and_checks_csrf(users):
    client = client_for(users["admin"])
    assert client.get("/escalation/audit/run/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(users["admin"])
    assert strict.post("/escalation/audit/run/").status_code == 403
    assert TargetAudit.objects.count() == 0


def test_the_page_queries_stay_bounded(users, admin_person, person, policy, django_assert_max_num_queries):
    policy(tier(person("Nils Nomethod")))
    for _ in range(30):
        target_audit.store(target_audit.run(NOW), actor=SYSTEM, ran_by="schedule")
    client = client_for(users["viewer"])
    with django_assert_max_num_queries(12):
        assert client.get("/escalation/audit/").status_code == 200
