"""The offline list (B11) and the sealed envelope (B12): opened by the real `age` and a PDF reader."""

import io
import json
import os
import select
import shutil
import subprocess
import sys
import tarfile
import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from tocsin.core.models import AuditEntry
from tocsin.directory import offline, offline_pdf, services
from tocsin.directory.models import Site

from .conftest import SYSTEM

PASSPHRASE = "staple-battery-horse-correct"
NAMES = ["Dora Novák", "Łukasz Żółć", "Ἀλέξανδρος", "Дмитрий"]
DORA, LUKASZ, ALEX, DMITRI = "+420601123456", "+48512345678", "+306912345678", "+49301234567"
HOTLINE = "+493098765432"
NUMBERS = [DORA, LUKASZ, ALEX, DMITRI, HOTLINE]


# --- helpers -----------------------------------------------------------------


@pytest.fixture
def age_binary():
    path = shutil.which("age")
    if path is None:
        message = "Debian's `age` is not installed (apt-get install -y age): the age interoperability tests cannot run."
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} CI=true requires it.")
        line = "!" * 78
        sys.stderr.write(f"\n{line}\n!! SKIPPING: {message}\n{line}\n")
        pytest.skip(message)
    return path


def age_decrypt(age, encrypted_path, passphrase, out_path, timeout=60):
    """Run the real `age -d`, typing the passphrase into a pseudo-terminal: age reads it from the
    terminal only (this version has no environment variable or stdin option for it)."""
    import fcntl
    import termios

    master, slave = os.openpty()

    def take_terminal():  # runs in the child after setsid: make the pty its controlling terminal
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [age, "-d", "-o", str(out_path), str(encrypted_path)],
        stdin=slave, stdout=slave, stderr=slave, start_new_session=True, preexec_fn=take_terminal, close_fds=True,
    )
    os.close(slave)
    seen, typed = b"", False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 1024)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
                if not typed and b"passphrase" in seen.lower():
                    os.write(master, passphrase.encode() + b"\n")
                    typed = True
            elif proc.poll() is not None:
                break
        returncode = proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return returncode, seen.decode(errors="replace")


def untar(tar_bytes):
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        members = {m.name.split("/", 1)[1]: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
        folders = {m.name.split("/", 1)[0] for m in tar.getmembers()}
    assert len(folders) == 1  # one folder, so extracting never scatters files
    return members


def open_with_age(age, tmp_path, ciphertext, passphrase=PASSPHRASE):
    encrypted = tmp_path / "list.tar.age"
    encrypted.write_bytes(ciphertext)
    out = tmp_path / "list.tar"
    code, terminal = age_decrypt(age, encrypted, passphrase, out)
    assert code == 0, terminal
    files = untar(out.read_bytes())
    manifest = json.loads(files["manifest.json"])
    body = files[manifest["payload"]["file"]]
    import hashlib

    assert hashlib.sha256(body).hexdigest() == manifest["payload"]["sha256"]
    assert manifest["payload"]["bytes"] == len(body)
    return manifest, body


def pdf_text(pdf_bytes):
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf_bytes)).pages)


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def exported_entries():
    return list(AuditEntry.objects.filter(action="contacts.exported").order_by("seq"))


def assert_audit_has_no_values():
    """No contact value (in any spelling) in the audit table; no names in the export entries."""
    everything = json.dumps(
        list(AuditEntry.objects.values("actor_label", "action", "object_type", "object_id", "summary", "ip")),
        ensure_ascii=False, default=str,
    )
    for number in NUMBERS:
        assert number not in everything
        assert number[1:] not in everything  # without the plus
        assert number[-7:] not in everything  # the subscriber part alone
    assert PASSPHRASE not in everything
    exports = json.dumps([e.summary for e in exported_entries()], ensure_ascii=False)
    for name in NAMES:
        assert name not in exports


# --- data ----------------------------------------------------------------------


@pytest.fixture
def org(make_team, make_person, make_role, phone):
    network, operations = make_team("Network"), make_team("Operations")
    prague = Site.objects.create(name="Prague DC", slug="prague-dc", time_zone="Europe/Prague")
    dora = make_person(NAMES[0], teams=[network], site=prague, time_zone="Europe/Prague")
    lukasz = make_person(NAMES[1], teams=[network])
    alex = make_person(NAMES[2], teams=[operations], site=prague)
    dmitri = make_person(NAMES[3], teams=[operations])
    phone(dora, "+420 601 123 456")
    services.add_method(actor=SYSTEM, source="cli", person=dora, kind="email", value="dora@example.org", order=1)
    phone(lukasz, "+48 512 345 678")
    phone(alex, "+30 691 234 5678")
    phone(dmitri, "+49 30 1234567")
    services.add_method(actor=SYSTEM, source="cli", person=dmitri, kind="webhook", value="https://hooks.example.org/s3cr3t")

    manager = make_role("IT Manager", team=operations, sheet_level=1, hours="24/7", response_commitment="15 min")
    services.assign_holder(manager, dmitri, actor=SYSTEM)
    services.add_method(actor=SYSTEM, source="cli", role=manager, kind="voice", value="+49 30 98765432", label="Hotline")
    oncall = make_role("Network on-call", team=network, sheet_level=2, hours="Mon-Fri 08-18", response_commitment="30 min")
    services.assign_holder(oncall, lukasz, actor=SYSTEM)
    now = timezone.now()
    services.delegate(lukasz, dora, actor=SYSTEM, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=2))
    facilities = make_role("Facilities", team=operations)
    services.assign_holder(facilities, alex, actor=SYSTEM)
    return {"network": network, "operations": operations, "prague": prague}


# --- the collected list ---------------------------------------------------------


def test_collect_resolves_holders_now_with_delegation(org):
    data = offline.collect(offline.Scope.everyone())
    levels = [(r["level"], r["role"], [h["name"] for h in r["holders"]]) for r in data["call_tree"]]
    assert levels == [(1, "IT Manager", [NAMES[3]]), (2, "Network on-call", [NAMES[0]])]
    oncall = data["call_tree"][1]
    assert oncall["holders"][0]["stands_in_for"] == [NAMES[1]]
    assert [m["value"] for m in oncall["holders"][0]["methods"]] == [DORA, "dora@example.org"]
    assert [m["value"] for m in data["call_tree"][0]["shared"]] == [HOTLINE]
    assert [r["role"] for r in data["other_roles"]] == ["Facilities"]
    assert "s3cr3t" not in json.dumps(data)  # webhooks stay behind
    assert data["counts"]["people"] == 4


def test_team_scope_keeps_to_the_team(org):
    data = offline.collect(offline.Scope.of(org["network"]))
    text = json.dumps(data, ensure_ascii=False)
    assert [r["role"] for r in data["call_tree"]] == ["Network on-call"]
    assert NAMES[0] in text and NAMES[1] in text and DORA in text and LUKASZ in text
    assert NAMES[3] not in text and DMITRI not in text and HOTLINE not in text


# --- the command, opened by the real age -------------------------------------------


def test_cli_export_is_opened_by_debian_age(org, age_binary, tmp_path, capfd):
    out = tmp_path / "contacts.tar.age"
    stdout = io.StringIO()
    call_command("export_contacts", encrypted=True, out=str(out), passphrase=PASSPHRASE, stdout=stdout)
    captured = capfd.readouterr()
    assert PASSPHRASE not in stdout.getvalue() + captured.out + captured.err
    assert out.read_bytes().startswith(b"age-encryption.org/v1\n")
    assert oct(out.stat().st_mode & 0o777) == "0o600"

    manifest, body = open_with_age(age_binary, tmp_path, out.read_bytes())
    payload = json.loads(body)
    text = body.decode()
    for name in NAMES:
        assert name in text
    for number in NUMBERS:
        assert number in text
    assert manifest["scope"] == {"kind": "all", "slug": "", "name": "Everyone"}
    assert manifest["counts"]["people"] == 4
    assert manifest["generated_at"].endswith("+00:00")
    assert payload["call_tree"][1]["holders"][0]["name"] == NAMES[0]  # delegation applied

    [entry] = exported_entries()
    assert entry.actor_type == "system" and entry.actor_label == "cli"
    assert entry.summary["channel"] == "cli" and entry.summary["sha256"] == manifest["payload"]["sha256"]
    assert_audit_has_no_values()


def test_cli_csv_for_one_team_with_the_environment_passphrase(org, age_binary, tmp_path, monkeypatch):
    monkeypatch.setenv("TOCSIN_EXPORT_PASSPHRASE", PASSPHRASE)
    out = tmp_path / "network.tar.age"
    call_command("export_contacts", "--encrypted", "--out", str(out), "--team", "network", "--format", "csv",
                 stdout=io.StringIO())
    manifest, body = open_with_age(age_binary, tmp_path, out.read_bytes())
    assert manifest["payload"]["file"] == "contacts.csv"
    text = body.decode()
    assert text.startswith("section,level,role,")
    assert DORA in text and LUKASZ in text and NAMES[0] in text and "Network on-call" in text
    assert DMITRI not in text and NAMES[3] not in text
    assert exported_entries()[0].summary["scope"] == "team"


@pytest.mark.parametrize(
    "options, message",
    [
        ({"passphrase": PASSPHRASE}, "plaintext"),
        ({"encrypted": True, "passphrase": "short-pass"}, "at least 12"),
        ({"encrypted": True, "passphrase": ""}, "required"),
        ({"encrypted": True, "passphrase": "            "}, "required"),
        ({"encrypted": True}, "passphrase is required"),
        ({"encrypted": True, "passphrase": PASSPHRASE, "team": "nope"}, "No team 'nope'"),
        ({"encrypted": True, "passphrase": PASSPHRASE, "team": "network", "site": "prague-dc"}, "not both"),
    ],
)
def test_cli_refusals_write_nothing(org, tmp_path, monkeypatch, options, message):
    monkeypatch.delenv("TOCSIN_EXPORT_PASSPHRASE", raising=False)
    out = tmp_path / "x.tar.age"
    with pytest.raises(CommandError, match=message) as caught:
        call_command("export_contacts", out=str(out), stdout=io.StringIO(), **options)
    assert PASSPHRASE not in str(caught.value)
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert exported_entries() == []


def test_cli_keeps_an_existing_file_unless_forced(org, tmp_path):
    out = tmp_path / "x.tar.age"
    out.write_bytes(b"older copy")
    with pytest.raises(CommandError, match="--force"):
        call_command("export_contacts", encrypted=True, out=str(out), passphrase=PASSPHRASE, stdout=io.StringIO())
    assert out.read_bytes() == b"older copy"
    call_command("export_contacts", encrypted=True, out=str(out), passphrase=PASSPHRASE, force=True, stdout=io.StringIO())
    assert out.read_bytes().startswith(b"age-encryption.org/v1")
    assert [p.name for p in tmp_path.iterdir()] == ["x.tar.age"]  # no temporary file left


def test_tocsin_front_knows_the_command(capsys):
    from tocsin import cli

    assert cli.main(["--help"]) == 0
    assert "export-contacts" in capsys.readouterr().out
    assert cli.COMMANDS["export-contacts"] == "export_contacts"


# --- the sealed envelope ---------------------------------------------------------


def test_envelope_pdf_text_names_roles_numbers_and_manifest(org):
    pdf, data, digest = offline_pdf.envelope(offline.Scope.of(org["prague"]))
    assert pdf.startswith(b"%PDF-")
    assert digest == offline.content_digest(data)
    text = pdf_text(pdf)
    for name in NAMES:  # the site's people plus everyone on the installation-wide call tree
        assert name in text, name
    for role in ("IT Manager", "Network on-call", "Facilities"):
        assert role in text
    for number in (DORA, ALEX, DMITRI, HOTLINE):
        assert number in text, number
    assert LUKASZ not in text  # not at the site, and delegated away from the call tree
    assert digest in text
    assert "24/7" in text and "15 min" in text and "Hotline" in text
    assert "UTC" in text and "Europe/Prague" in text
    assert "standing in for " + NAMES[1] in text
    assert text.index("IT Manager") < text.index("Network on-call")  # levels in order
    assert "s3cr3t" not in text


def test_envelope_digest_follows_the_content(org, make_person, phone):
    first = offline.content_digest(offline.collect(offline.Scope.of(org["network"])))
    phone(make_person("Ana Silva", teams=[org["network"]]), "+351 912 345 678")
    second = offline.content_digest(offline.collect(offline.Scope.of(org["network"])))
    assert first != second


# --- the web downloads --------------------------------------------------------------


def test_viewer_gets_403_everywhere(org, make_user):
    client = signed_in(make_user("vera", roles=["viewer"]))
    assert client.get("/directory/exports/").status_code == 403
    assert client.post("/directory/exports/pdf/", {"scope": "team:network"}).status_code == 403
    posted = {"scope": "team:network", "format": "json", "passphrase": PASSPHRASE, "passphrase_again": PASSPHRASE}
    assert client.post("/directory/exports/encrypted/", posted).status_code == 403
    assert exported_entries() == []
    assert AuditEntry.objects.filter(action="permission.denied", summary__permission="contacts:export").count() == 3


def test_anonymous_is_sent_to_sign_in(org):
    response = Client().get("/directory/exports/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_steward_exports_their_team_only(org, make_user, age_binary, tmp_path):
    client = signed_in(make_user("stella", roles=[("contact_steward", "network")]))
    page = client.get("/directory/exports/")
    assert page.status_code == 200
    assert b"team:network" in page.content and b"team:operations" not in page.content and b"site:" not in page.content

    assert client.post("/directory/exports/pdf/", {"scope": "team:operations"}).status_code == 403
    assert client.post("/directory/exports/pdf/", {"scope": "site:prague-dc"}).status_code == 403
    assert client.post("/directory/exports/pdf/", {"scope": "all"}).status_code == 403
    other = {"scope": "team:operations", "format": "json", "passphrase": PASSPHRASE, "passphrase_again": PASSPHRASE}
    assert client.post("/directory/exports/encrypted/", other).status_code == 403
    assert exported_entries() == []

    response = client.post("/directory/exports/pdf/", {"scope": "team:network"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"] and "attachment;" in response["Content-Disposition"]
    text = pdf_text(response.content)
    assert NAMES[0] in text and DORA in text and NAMES[3] not in text and DMITRI not in text

    mine = {"scope": "team:network", "format": "json", "passphrase": PASSPHRASE, "passphrase_again": PASSPHRASE}
    response = client.post("/directory/exports/encrypted/", mine)
    assert response.status_code == 200 and response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].endswith('.tar.age"')
    manifest, body = open_with_age(age_binary, tmp_path, response.content)
    assert manifest["scope"]["slug"] == "network" and DORA in body.decode() and DMITRI not in body.decode()

    entries = exported_entries()
    assert [(e.summary["what"], e.summary["scope"], e.summary["channel"]) for e in entries] == [
        ("pdf", "team", "web"), ("encrypted", "team", "web"),
    ]
    assert all(e.actor_type == "user" and e.actor_label == "stella" for e in entries)
    assert entries[1].summary["sha256"] == manifest["payload"]["sha256"]
    assert_audit_has_no_values()


def test_admin_exports_a_site_and_everyone(org, make_user):
    client = signed_in(make_user("root", roles=["admin"]))
    page = client.get("/directory/exports/")
    assert b"site:prague-dc" in page.content and b"team:operations" in page.content and b'value="all"' in page.content
    assert client.post("/directory/exports/pdf/", {"scope": "site:prague-dc"}).status_code == 200
    assert client.post("/directory/exports/pdf/", {"scope": "all"}).status_code == 200
    assert client.post("/directory/exports/pdf/", {"scope": "site:nowhere"}).status_code == 404
    assert client.post("/directory/exports/pdf/", {"scope": "bogus"}).status_code == 404
    assert [e.summary["scope"] for e in exported_entries()] == ["site", "all"]
    assert_audit_has_no_values()


@pytest.mark.parametrize(
    "passphrase, again, error",
    [("too-short", "too-short", "at least 12"), (PASSPHRASE, PASSPHRASE + "x", "differ"), ("", "", "required")],
)
def test_bad_passphrase_is_a_form_error_and_nothing_is_sent(org, make_user, passphrase, again, error):
    client = signed_in(make_user("root", roles=["admin"]))
    response = client.post(
        "/directory/exports/encrypted/",
        {"scope": "team:network", "format": "json", "passphrase": passphrase, "passphrase_again": again},
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert error in response.content.decode()
    assert b'<option value="team:network" selected>' in response.content
    assert passphrase.encode() not in response.content or not passphrase
    assert exported_entries() == []


def test_get_on_download_urls_is_refused(org, make_user):
    client = signed_in(make_user("root", roles=["admin"]))
    assert client.get("/directory/exports/pdf/").status_code == 405
    assert client.get("/directory/exports/encrypted/").status_code == 405
