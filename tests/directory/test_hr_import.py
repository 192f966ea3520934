"""B4/B5: HR CSV import with preview, all-or-nothing validation, conflicts a steward resolves,
idempotent re-import, offboarding that ends role holdings, and the scheduled file sync."""


import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tocsin.core import audit
from tocsin.core.models import AuditEntry
from tocsin.directory import hr_csv, services
from tocsin.directory.hr_csv import HrCsvError
from tocsin.directory.models import ContactMethod, ExternalId, Person, RoleHolding, Site, SyncConflict, SyncRun
from tocsin.directory.services import hr_import

from .conftest import SYSTEM

HEADER = "external_id,name,email,mobile,phone,team,site,time_zone,active,manager\n"
ANA = "E1,Ana Silva,ana@example.org,+49 170 1111111,,network,berlin,Europe/Berlin,true,E9\n"
BEN = "E2,Ben Okafor,ben@example.org,+49 170 2222222,+49 30 2222222,network;storage,,,yes,\n"
CARL = "E3,Carl Jung,carl@example.org,,,,,,1,\n"


@pytest.fixture
def org(db, make_team):
    make_team("Network")
    make_team("Storage")
    Site.objects.create(name="Berlin Office", slug="berlin", time_zone="Europe/Berlin")


@pytest.fixture
def csv_file(tmp_path):
    def write(*rows, header=HEADER, raw=None, name="people.csv"):
        path = tmp_path / name
        path.write_bytes(raw if raw is not None else (header + "".join(rows)).encode())
        return path

    return write


def run(path, **kwargs):
    return hr_import.import_file(path, actor=SYSTEM, **kwargs)


def person(external_id, source="hr"):
    return Person.objects.get(external_ids__source=source, external_ids__value=external_id)


def methods(p):
    return {m.kind: m.value for m in ContactMethod.objects.filter(person=p, is_active=True)}


def nothing_written():
    return not (Person.objects.exists() or ExternalId.objects.exists() or ContactMethod.objects.exists()
                or SyncRun.objects.exists())


# --- happy path and idempotence ---------------------------------------------------------------


def test_create_update_deactivate_and_idempotent_reimport(org, csv_file):
    first, plan = run(csv_file(ANA, BEN, CARL))
    assert first.counts["created"] == 3 and not plan.conflicts
    ana = person("E1")
    assert ana.name == "Ana Silva" and ana.time_zone == "Europe/Berlin" and ana.site.slug == "berlin"
    assert sorted(person("E2").teams.values_list("slug", flat=True)) == ["network", "storage"]
    assert methods(ana) == {"email": "ana@example.org", "sms": "+491701111111"}
    assert methods(person("E2"))["voice"] == "+49302222222"
    assert ana.history.first().history_change_reason.startswith("csv:")

    # Second run of the same file: nothing to do.
    again, plan = run(csv_file(ANA, BEN, CARL))
    assert again.counts["unchanged"] == 3
    assert not (plan.creates or plan.changes or plan.deactivations or plan.conflicts)

    # Ana moves team and number, Ben is gone, Carl left (active=false).
    changed_ana = "E1,Ana Silva-Lopes,ana@example.org,+49 170 3333333,,storage,berlin,Europe/Lisbon,true,\n"
    third, plan = run(csv_file(changed_ana, "E3,Carl Jung,,,,,,,false,\n"))
    assert third.counts == {**third.counts, "changed": 1, "deactivated": 2, "created": 0}
    ana.refresh_from_db()
    assert (ana.name, ana.time_zone) == ("Ana Silva-Lopes", "Europe/Lisbon")
    assert list(ana.teams.values_list("slug", flat=True)) == ["storage"]
    assert methods(ana)["sms"] == "+491703333333"
    assert ContactMethod.objects.filter(person=ana, kind="sms").count() == 1  # updated, not added
    assert not person("E2").is_active and not person("E3").is_active
    assert not ContactMethod.objects.filter(person__in=[person("E2"), person("E3")], is_active=True).exists()

    # A rehire reactivates.
    run(csv_file(changed_ana, "E3,Carl Jung,carl@example.org,,,,,,true,\n"))
    assert person("E3").is_active and methods(person("E3")) == {"email": "carl@example.org"}


def test_empty_cells_leave_fields_alone(org, csv_file):
    run(csv_file(ANA))
    run(csv_file("E1,Ana Silva,,,,,,,,\n"))
    ana = person("E1")
    assert ana.site.slug == "berlin" and ana.teams.count() == 1 and len(methods(ana)) == 2


def test_preview_writes_nothing_and_masks_contact_values(org, csv_file):
    run(csv_file(ANA))
    before = AuditEntry.objects.count()
    plan = hr_import.preview(csv_file("E1,Ana Silva,ana@example.org,+49 170 4444444,,,,,,\n", BEN).read_bytes())
    report = plan.report()
    assert "create 1, change 1" in report and "+49 *** *** 44" in report and "4444444" not in report
    assert AuditEntry.objects.count() == before and Person.objects.count() == 1


def test_audit_holds_counts_not_personal_values(org, csv_file):
    run(csv_file(ANA, BEN))
    summary = AuditEntry.objects.get(action="directory.hr_imported").summary
    assert summary["created"] == 2 and summary["source"] == "hr"
    # (contact.method_added names the owner: that summary belongs to services.methods, not to this import.)
    ours = AuditEntry.objects.filter(action__startswith="directory.").values_list("summary", flat=True)
    every = " ".join(str(s) for s in ours)
    assert "Ana" not in every and "1111111" not in every and "example.org" not in every


def test_people_entered_by_hand_are_linked_by_email(org, csv_file, make_person):
    ana = make_person("Ana S.")
    services.add_method(actor=SYSTEM, source="cli", person=ana, kind="email", value="ana@example.org")
    run(csv_file(ANA))
    assert Person.objects.count() == 1 and person("E1") == ana
    ana.refresh_from_db()
    assert ana.name == "Ana Silva"
    assert ContactMethod.objects.filter(person=ana, kind="email").count() == 1  # adopted, not duplicated


# --- offboarding (B5) ---------------------------------------------------------------------------


def test_deactivation_ends_role_holdings(org, csv_file, make_role):
    run(csv_file(ANA, BEN))
    role = make_role("Network on-call")
    holding = services.assign_holder(role, person("E2"), actor=SYSTEM)
    _, plan = run(csv_file(ANA))
    assert [d.reason for d in plan.deactivations] == ["missing from the file"]
    holding.refresh_from_db()
    assert holding.ends_at is not None
    assert not RoleHolding.objects.filter(RoleHolding.current(holding.ends_at), person=person("E2")).exists()
    assert AuditEntry.objects.filter(action="person.deactivated", summary__roles_ended=["network-on-call"]).exists()


def test_mass_deactivation_needs_consent(org, csv_file):
    rows = [f"E{n},Person {n},,,,,,,,\n" for n in range(20)]
    run(csv_file(*rows))
    with pytest.raises(hr_import.ImportRefused, match="deactivate 19 of 20"):
        run(csv_file(rows[0]))
    assert Person.objects.filter(is_active=True).count() == 20
    run(csv_file(rows[0]), allow_mass_deactivation=True)
    assert Person.objects.filter(is_active=True).count() == 1


# --- validation: precise errors, nothing written ------------------------------------------------


def problems(path):
    with pytest.raises(HrCsvError) as caught:
        run(path)
    assert nothing_written()
    return str(caught.value)


def test_wrong_columns_are_named(org, csv_file):
    message = problems(csv_file(header="id,name,e-mail,department\n", raw=b"id,name,e-mail,department\n1,A,a@b.c,X\n"))
    assert "unknown column(s): id, e-mail, department" in message
    assert "missing required column(s): external_id" in message


def test_latin1_file_is_refused_with_the_line(org, csv_file):
    raw = (HEADER + ANA + "E2,Jürgen Groß,,,,,,,,\n").encode("latin-1")
    message = problems(csv_file(raw=raw))
    assert "line 3" in message and "not UTF-8" in message


def test_utf8_with_bom_and_semicolons_is_accepted(org, csv_file):
    text = "\ufeffexternal_id;name;team\nE1;Jürgen Groß;network\n"
    run(csv_file(raw=text.encode("utf-8")))
    assert person("E1").name == "Jürgen Groß"


def test_duplicate_ids_are_named_with_their_lines(org, csv_file):
    message = problems(csv_file(ANA, BEN, "E1,Ana Again,,,,,,,,\n"))
    assert "external_id 'E1' appears more than once, on lines 2, 4" in message


def test_invalid_values_report_line_and_column_without_the_value(org, csv_file):
    bad = [
        "E2,Ben,not-an-email,+49 170 2222222,,,,,,\n",
        "E3,Carl,,99999,,,,,,\n",
        "E4,Dora,,,,nosuchteam,,,,\n",
        "E5,Emil,,,,,,Mars/Olympus,,\n",
        "E6,,,,,,,,maybe,\n",
    ]
    message = problems(csv_file(ANA, *bad))
    assert "line 3, column email: not a valid e-mail address" in message
    assert "line 4, column mobile: not a valid phone number" in message and "99999" not in message
    assert "line 5, column team: unknown team 'nosuchteam'" in message
    assert "line 6, column time_zone: 'Mars/Olympus' is not a known time zone" in message
    assert "line 7, column name: a name is required" in message
    assert "line 7, column active: use true/false" in message


def test_invalid_row_leaves_an_existing_directory_untouched(org, csv_file):
    run(csv_file(ANA, BEN))
    before = (AuditEntry.objects.count(), SyncRun.objects.count())
    with pytest.raises(HrCsvError, match="line 3, column mobile"):
        run(csv_file("E1,Ana Renamed,,,,,,,,\n", "E2,Ben,,+49 170,,,,,,\n"))
    assert person("E1").name == "Ana Silva" and person("E2").is_active
    assert (AuditEntry.objects.count(), SyncRun.objects.count()) == before


def test_oversized_and_ragged_files(org, csv_file):
    path = csv_file(ANA)
    with pytest.raises(HrCsvError, match="at most 10 are accepted"):
        hr_csv.read(path, max_bytes=10)
    assert "line 2: 3 cell(s), but the header has 10" in problems(csv_file("E1,Ana,x\n"))
    assert "header but no rows" in problems(csv_file())


# --- conflicts ------------------------------------------------------------------------------------


def local_edit(p, **fields):
    steward = audit.Actor("user", "", "steward")
    services.update_person(p, actor=steward, source="ui", **fields)


def test_local_edit_then_hr_change_is_a_conflict_keep_local(org, csv_file):
    run(csv_file(ANA))
    ana = person("E1")
    local_edit(ana, name="Ana Silva (Ops)")
    changed = "E1,Ana Maria Silva,ana@example.org,+49 170 9999999,,network,berlin,Europe/Berlin,true,\n"
    _, plan = run(csv_file(changed))
    # The name waits for a steward; the number HR changed (not edited locally) applies.
    assert [(c.name, c.kind, c.local_source) for c in plan.conflicts] == [("name", "local_edit", "ui")]
    ana.refresh_from_db()
    assert ana.name == "Ana Silva (Ops)" and methods(ana)["sms"] == "+491709999999"
    conflict = SyncConflict.objects.get()
    assert (conflict.status, conflict.hr_value, conflict.local_value) == ("pending", "Ana Maria Silva", "Ana Silva (Ops)")

    # Re-running the same file keeps the one pending conflict and changes nothing.
    _, plan = run(csv_file(changed))
    assert len(plan.conflicts) == 1 and not plan.changes and SyncConflict.objects.count() == 1

    hr_import.resolve_conflict(conflict, "keep_local", actor=SYSTEM)
    ana.refresh_from_db()
    assert ana.name == "Ana Silva (Ops)"
    assert SyncConflict.objects.get().status == "kept_local"
    # The declined HR value is not raised again...
    _, plan = run(csv_file(changed))
    assert not plan.conflicts and not plan.changes and plan.kept_local == 1
    with pytest.raises(ValidationError):
        hr_import.resolve_conflict(conflict, "take_hr", actor=SYSTEM)
    # ...but a new HR value is.
    _, plan = run(csv_file(changed.replace("Ana Maria Silva", "A. M. Silva")))
    assert [c.name for c in plan.conflicts] == ["name"]


def test_local_edit_then_hr_change_is_a_conflict_take_hr(org, csv_file):
    run(csv_file(ANA))
    ana = person("E1")
    local_edit(ana, teams=[])
    method = ContactMethod.objects.get(person=ana, kind="sms")
    services.update_method(method, actor=SYSTEM, source="api", value="+49 170 5555555")
    changed = "E1,Ana Silva,ana@example.org,+49 170 6666666,,storage,berlin,Europe/Berlin,true,\n"
    _, plan = run(csv_file(changed))
    assert sorted(c.name for c in plan.conflicts) == ["mobile", "teams"]
    assert "+49 *** *** 55" in plan.report() and "5555555" not in plan.report()
    for conflict in SyncConflict.objects.filter(status="pending"):
        hr_import.resolve_conflict(conflict, "take_hr", actor=SYSTEM)
    ana.refresh_from_db()
    assert list(ana.teams.values_list("slug", flat=True)) == ["storage"]
    assert methods(ana)["sms"] == "+491706666666"
    assert set(SyncConflict.objects.values_list("status", flat=True)) == {"took_hr"}
    assert AuditEntry.objects.filter(action="directory.sync_conflict_resolved").count() == 2
    _, plan = run(csv_file(changed))
    assert not (plan.changes or plan.conflicts)


def test_hr_and_identity_provider_disagree(org, csv_file, make_person):
    run(csv_file(ANA))
    ana = person("E1")
    services.add_external_id(ana, "scim:okta", "00u1", actor=SYSTEM)
    idp = audit.Actor.system("scim")
    services.update_person(ana, actor=idp, source="scim", time_zone="Europe/Paris")
    ContactMethod.objects.filter(person=ana, kind="email").delete()
    services.add_method(actor=idp, source="scim", person=ana, kind="email", value="ana.silva@example.org", label="scim")
    # Long after the last sync, HR still says Berlin: the IdP's values are disputed, not overwritten,
    # and HR's e-mail does not become a second address.
    SyncRun.objects.update(started_at=SyncRun.objects.get().started_at.replace(year=2100))
    _, plan = run(csv_file(ANA))
    assert sorted((c.name, c.kind) for c in plan.conflicts) == [("email", "idp"), ("time_zone", "idp")]
    ana.refresh_from_db()
    assert ana.time_zone == "Europe/Paris" and methods(ana)["email"] == "ana.silva@example.org"
    email = SyncConflict.objects.get(field="email")
    hr_import.resolve_conflict(email, "take_hr", actor=SYSTEM)
    assert ContactMethod.objects.filter(person=ana, kind="email").count() == 1 and methods(ana)["email"] == "ana@example.org"


def test_hr_wins_over_edits_older_than_the_last_sync(org, csv_file):
    run(csv_file(ANA))
    local_edit(person("E1"), name="Ana Old Edit")
    SyncRun.objects.update(started_at=SyncRun.objects.get().started_at.replace(year=2100))
    run(csv_file(ANA))
    assert person("E1").name == "Ana Silva" and not SyncConflict.objects.exists()


def test_deactivation_supersedes_pending_conflicts(org, csv_file):
    run(csv_file(ANA, BEN))
    local_edit(person("E1"), name="Ana Local")
    run(csv_file(ANA.replace("Ana Silva", "Ana HR"), BEN))
    assert SyncConflict.objects.get().status == "pending"
    run(csv_file(BEN))
    assert SyncConflict.objects.get().status == "superseded" and not person("E1").is_active


# --- scheduled sync and commands -------------------------------------------------------------------


def test_sync_file_runs_only_when_the_file_changed(org, csv_file):
    path = csv_file(ANA)
    first = hr_import.sync_file(path, actor=SYSTEM)
    assert first.status == "ok" and first.via == "sync" and first.counts["created"] == 1
    assert hr_import.sync_file(path, actor=SYSTEM) is None
    path.write_bytes((HEADER + ANA + "E2,Ben,,12,,,,,,\n").encode())
    failed = hr_import.sync_file(path, actor=SYSTEM)
    assert failed.status == "failed" and "line 3, column mobile" in failed.problem
    assert Person.objects.count() == 1
    assert hr_import.sync_file(path, actor=SYSTEM) is None  # the same bad file is not retried


def test_the_engine_runs_the_hr_sync_periodically_when_a_file_is_configured(org, csv_file, settings):
    from tocsin.engine.models import Job
    from tocsin.engine.runner import ensure_periodic
    from tocsin.engine.worker import Engine

    settings.TOCSIN_HR_SYNC_FILE = ""
    ensure_periodic(timezone.now())
    assert not Job.objects.filter(kind="directory.hr_sync").exists()  # no file: no job
    settings.TOCSIN_HR_SYNC_FILE = str(csv_file(ANA))
    ensure_periodic(timezone.now())
    Engine(name="test").run_due()
    assert person("E1").name == "Ana Silva"
    assert Job.objects.get(kind="directory.hr_sync", state=Job.PENDING).due_at > timezone.now()


def test_import_people_command(org, csv_file, capsys):
    path = csv_file(ANA, BEN)
    call_command("import_people", str(path))  # preview by default
    out = capsys.readouterr().out
    assert "create 2" in out and "Preview only" in out and not Person.objects.exists()
    call_command("import_people", str(path), "--apply")
    assert "applied" in capsys.readouterr().out and Person.objects.count() == 2
    with pytest.raises(CommandError, match="line 2, column mobile"):
        call_command("import_people", str(csv_file("E9,X,,999,,,,,,\n")), "--apply")
    with pytest.raises(CommandError, match="--preview or --apply"):
        call_command("import_people", str(path), "--apply", "--preview")


def test_sync_hr_command(org, csv_file, settings, capsys):
    settings.TOCSIN_HR_SYNC_FILE = ""
    with pytest.raises(CommandError, match="TOCSIN_HR_SYNC_FILE"):
        call_command("sync_hr")
    settings.TOCSIN_HR_SYNC_FILE = str(csv_file(ANA))
    call_command("sync_hr")
    assert "created 1" in capsys.readouterr().out
    call_command("sync_hr")
    assert "unchanged" in capsys.readouterr().out
