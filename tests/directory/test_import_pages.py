"""B4 on the web and the API: upload, preview and apply an HR file, resolve conflicts, export people as CSV."""

import csv
import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from tocsin.core import audit, mfa
from tocsin.core.models import AuditEntry
from tocsin.directory import hr_csv, services
from tocsin.directory.models import ContactMethod, ExternalId, Person, Site, SyncConflict, SyncRun
from tocsin.directory.services import hr_import
from tocsin.directory.views_import import SESSION_KEY

from .conftest import SYSTEM

HEADER = "external_id,name,email,mobile,phone,team,site,time_zone,active\n"
ANA = "E1,Ana Silva,ana@example.org,+49 170 1111111,,network,berlin,Europe/Berlin,true\n"
BEN = "E2,Ben Okafor,ben@example.org,+49 170 2222222,+49 30 2222222,network;storage,,,yes\n"
CARL = "E3,Carl Jung,carl@example.org,,,storage,,,1\n"


def _csv(*rows, header=HEADER):
    return (header + "".join(rows)).encode()


@pytest.fixture
def org(db, make_team, make_user):
    network, storage = make_team("Network"), make_team("Storage")
    Site.objects.create(name="Berlin Office", slug="berlin", time_zone="Europe/Berlin")
    return {
        "network": network, "storage": storage,
        "admin": make_user("root", roles=["admin"]),
        "steward": make_user("stew", roles=[("contact_steward", "network")]),
        "other_steward": make_user("stor", roles=[("contact_steward", "storage")]),
        "viewer": make_user("vera", roles=["viewer"]),
    }


def _client(user, *, fresh=False):
    client = Client()
    client.force_login(user)
    if fresh:
        _freshen(client, user)
    return client


def _freshen(client, user):
    TOTPDevice.objects.get_or_create(user=user, name="Authenticator app", defaults={"confirmed": True})
    session = client.session
    session[mfa.SESSION_KEY] = time.time()  # as if a TOTP code was entered a moment ago
    session.save()


def _upload(client, data, source="hr", name="people.csv"):
    return client.post(
        "/directory/import/", {"file": SimpleUploadedFile(name, data, content_type="text/csv"), "source": source},
    )


def _held(client):
    return client.session.get(SESSION_KEY)


def _apply(client, sha256=None, **extra):
    sha256 = sha256 if sha256 is not None else _held(client)["sha256"]
    return client.post("/directory/import/apply/", {"sha256": sha256, **extra})


def _nothing_written():
    return not (Person.objects.exists() or ExternalId.objects.exists() or ContactMethod.objects.exists()
                or SyncRun.objects.exists())


def _person(external_id):
    return Person.objects.get(external_ids__source="hr", external_ids__value=external_id)


# --- upload, preview, apply -------------------------------------------------------------------


def test_upload_previews_without_writing_then_apply_with_step_up_writes(org):
    client = _client(org["admin"])
    before = AuditEntry.objects.count()
    response = _upload(client, _csv(ANA, BEN, CARL))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="count-created">3<' in page and 'data-testid="count-deactivated">0<' in page
    assert "Ana Silva" in page and "Preview: nothing is written yet" in page
    assert _nothing_written() and AuditEntry.objects.count() == before
    # The held file is encrypted in the session: no contact value in the session store.
    held = _held(client)
    assert held["sha256"] == hr_csv.checksum(_csv(ANA, BEN, CARL))
    assert "ana@example.org" not in str(client.session.items())

    # Applying needs a fresh step-up; the browser goes to the step-up page and comes back to the preview.
    refused = _apply(client, HTTP_REFERER="http://testserver/directory/import/")
    assert refused.status_code == 302 and "/account/" in refused["Location"] and _nothing_written()
    _freshen(client, org["admin"])
    again = client.get("/directory/import/")
    assert again.status_code == 200 and held["sha256"] in again.content.decode()

    applied = _apply(client)
    assert applied.status_code == 302 and applied["Location"] == "/directory/import/"
    assert Person.objects.count() == 3 and SyncRun.objects.get().counts["created"] == 3
    ana = _person("E1")
    assert ana.site.slug == "berlin" and ana.history.first().history_change_reason.startswith("csv:")
    assert _held(client) is None  # applied once; a second apply finds nothing to apply
    second = _apply(client, sha256=held["sha256"])
    assert second.status_code == 400 and "No previewed file is waiting" in second.content.decode()
    assert SyncRun.objects.count() == 1


def test_preview_lists_field_changes_masked_and_deactivations(org):
    hr_import.import_data(_csv(ANA, BEN), actor=SYSTEM)
    client = _client(org["admin"])
    changed = ANA.replace("+49 170 1111111", "+49 170 3333333").replace("Ana Silva", "Ana Lopes")
    page = _upload(client, _csv(changed)).content.decode()
    assert 'data-testid="count-changed">1<' in page and 'data-testid="count-deactivated">1<' in page
    assert "+49 *** *** 11" in page and "+49 *** *** 33" in page
    assert "1111111" not in page and "3333333" not in page
    assert "Ana Lopes" in page and "missing from the file" in page
    assert _person("E1").name == "Ana Silva"


def test_tampered_or_expired_pending_upload_is_refused(org):
    client = _client(org["admin"], fresh=True)
    _upload(client, _csv(ANA))
    held = _held(client)

    # The form posts the hash of what was previewed; another file held since is not applied.
    wrong = _apply(client, sha256="0" * 64)
    assert wrong.status_code == 409 and "not the one this form previewed" in wrong.content.decode()
    assert _nothing_written()

    # The held content altered (the session store is not trusted blindly): refused and dropped.
    session = client.session
    session[SESSION_KEY] = {**held, "data": held["data"][:-8] + "AAAAAAA="}
    session.save()
    broken = _apply(client, sha256=held["sha256"])
    assert broken.status_code == 400 and "upload it again" in broken.content.decode()
    assert _nothing_written() and _held(client) is None

    # Swapped for another file's ciphertext while keeping the old hash: the checksum catches it.
    _upload(client, _csv(ANA))
    other = hr_csv.checksum(_csv(BEN))
    session = client.session
    session[SESSION_KEY] = {**_held(client), "sha256": other}
    session.save()
    swapped = _apply(client, sha256=other)
    assert swapped.status_code == 400 and "does not match its checksum" in swapped.content.decode()
    assert _nothing_written()

    # Held for longer than the limit: gone.
    _upload(client, _csv(ANA))
    session = client.session
    session[SESSION_KEY] = {**_held(client), "at": time.time() - 31 * 60}
    session.save()
    expired = _apply(client, sha256=hr_csv.checksum(_csv(ANA)))
    assert expired.status_code == 400 and "more than 30 minutes ago" in expired.content.decode()
    assert _nothing_written()


def test_discard_forgets_the_held_file(org):
    client = _client(org["admin"])
    _upload(client, _csv(ANA))
    assert client.post("/directory/import/discard/").status_code == 302
    assert _held(client) is None
    assert 'data-testid="import-preview"' not in client.get("/directory/import/").content.decode()
    assert _nothing_written()


def test_validation_errors_are_a_table_naming_line_and_column(org):
    client = _client(org["admin"])
    bad = BEN.replace("+49 170 2222222", "12")
    response = _upload(client, _csv(ANA, bad, "E3,,carl@example.org,,,,,,maybe\n"))
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="import-problems"' in page
    assert "<tr><td>3</td><td>mobile</td><td>not a valid phone number" in page
    assert "<tr><td>4</td><td>active</td>" in page and "<tr><td>4</td><td>name</td>" in page
    assert _held(client) is None and _nothing_written()
    # Problems of the whole file name no line.
    latin = _upload(client, "external_id,name\nE1,Jos\xe9\n".encode("latin-1")).content.decode()
    assert "not UTF-8" in latin
    unknown = _upload(client, _csv(header="external_id,name,salary\n")).content.decode()
    assert "<tr><td>1</td><td>—</td><td>unknown column(s): salary" in unknown
    assert "a source is 1 to 32" in _upload(client, _csv(ANA), source="bad source!").content.decode()


def test_mass_deactivation_is_refused_until_allowed(org):
    rows = [f"E{i},Person {i},p{i}@example.org,,,network,,,true\n" for i in range(1, 41)]
    hr_import.import_data(_csv(*rows), actor=SYSTEM)
    client = _client(org["admin"], fresh=True)
    page = _upload(client, _csv(*rows[:5])).content.decode()
    assert 'data-testid="mass-deactivation"' in page and "--allow-mass-deactivation" in page
    refused = _apply(client)
    assert refused.status_code == 400 and "Refused, nothing was written" in refused.content.decode()
    assert Person.objects.filter(is_active=True).count() == 40
    assert _apply(client, allow_mass_deactivation="1").status_code == 302
    assert Person.objects.filter(is_active=True).count() == 5


def test_oversized_upload_is_refused_before_reading(org, settings):
    settings.TOCSIN_MAX_BODY_BYTES = 300
    client = _client(org["admin"])
    response = _upload(client, _csv(*[ANA] * 10))
    assert response.status_code == 413 and _nothing_written()
    page = client.get("/directory/import/").content.decode()
    assert "tocsin import-people FILE" in page and "0 KiB" in page


# --- conflicts ----------------------------------------------------------------------------


@pytest.fixture
def conflicted(org):
    """Ana's name and Ben's mobile were edited locally; HR then changed both."""
    hr_import.import_data(_csv(ANA, BEN), actor=SYSTEM)
    ana, ben = _person("E1"), _person("E2")
    services.update_person(ana, actor=audit.Actor("user", "", "steward"), source="ui", name="Ana Local")
    sms = ContactMethod.objects.get(person=ben, kind="sms")
    services.update_method(sms, actor=SYSTEM, source="api", value="+49 170 5555555")
    changed_ana = ANA.replace("Ana Silva", "Ana HR")
    changed_ben = BEN.replace("+49 170 2222222", "+49 170 6666666")
    _, plan = hr_import.import_data(_csv(changed_ana, changed_ben), actor=SYSTEM)
    assert len(plan.conflicts) == 2
    return {**org, "ana": ana, "ben": ben,
            "name": SyncConflict.objects.get(field="name"), "mobile": SyncConflict.objects.get(field="mobile")}


def test_conflicts_page_lists_masked_values_and_resolves_both_ways(conflicted):
    client = _client(conflicted["admin"])
    page = client.get("/directory/import/conflicts/").content.decode()
    assert "Ana Local" in page and "Ana HR" in page
    assert "+49 *** *** 55" in page and "+49 *** *** 66" in page and "5555555" not in page and "6666666" not in page
    assert "Edited locally since the last sync" in page and 'data-testid="runs"' in page and "Applied" in page

    url = f"/directory/import/conflicts/{conflicted['name'].pk}/resolve/"
    stale = client.post(url, {"choice": "keep_local"}, HTTP_REFERER="http://testserver/directory/import/conflicts/")
    assert stale.status_code == 302 and "/account/" in stale["Location"]
    assert SyncConflict.objects.get(field="name").status == "pending"

    _freshen(client, conflicted["admin"])
    assert client.post(url, {"choice": "keep_local"}).status_code == 302
    take = client.post(f"/directory/import/conflicts/{conflicted['mobile'].pk}/resolve/", {"choice": "take_hr"})
    assert take.status_code == 302
    conflicted["ana"].refresh_from_db()
    assert conflicted["ana"].name == "Ana Local"
    assert ContactMethod.objects.get(person=conflicted["ben"], kind="sms").value == "+491706666666"
    assert dict(SyncConflict.objects.values_list("field", "status")) == {"name": "kept_local", "mobile": "took_hr"}
    assert "No conflicts wait for you" in client.get("/directory/import/conflicts/").content.decode()
    # Deciding twice, or a choice that does not exist, is a message, not an error page.
    again = client.post(url, {"choice": "take_hr"}, follow=True).content.decode()
    assert "already kept the local value" in again
    conflicted["ana"].refresh_from_db()
    assert conflicted["ana"].name == "Ana Local"


def test_stewards_see_and_resolve_only_their_teams_conflicts(conflicted):
    # Ana is in network only; Ben in network and storage.
    storage = _client(conflicted["other_steward"], fresh=True)
    page = storage.get("/directory/import/conflicts/").content.decode()
    assert "Ben Okafor" in page and "Ana Local" not in page
    assert "Import from HR" not in page  # stewards limited to teams do not import the whole file
    refused = storage.post(f"/directory/import/conflicts/{conflicted['name'].pk}/resolve/", {"choice": "take_hr"})
    assert refused.status_code == 403 and SyncConflict.objects.get(field="name").status == "pending"
    assert storage.get("/directory/import/").status_code == 403

    network = _client(conflicted["steward"], fresh=True)
    assert network.post(f"/directory/import/conflicts/{conflicted['name'].pk}/resolve/",
                        {"choice": "take_hr"}).status_code == 302
    conflicted["ana"].refresh_from_db()
    assert conflicted["ana"].name == "Ana HR"


def test_conflicts_through_the_api(conflicted, bearer):
    admin = conflicted["admin"]
    plain = bearer(admin)
    assert plain.get("/api/v1/directory/sync/conflicts").status_code == 403  # write is never implied for machines
    scoped = bearer(admin, ["contacts:write"])
    body = scoped.get("/api/v1/directory/sync/conflicts?limit=1").json()
    assert body["count"] == 2 and len(body["items"]) == 1
    listed = scoped.get("/api/v1/directory/sync/conflicts").json()["items"]
    mobile = next(c for c in listed if c["field"] == "mobile")
    assert mobile["local"] == "+49 *** *** 55" and mobile["hr"] == "+49 *** *** 66" and "5555555" not in str(listed)

    bad = scoped.post(f"/api/v1/directory/sync/conflicts/{mobile['id']}/resolve", {"choice": "both"},
                      content_type="application/json")
    assert bad.status_code == 422
    taken = scoped.post(f"/api/v1/directory/sync/conflicts/{mobile['id']}/resolve", {"choice": "take_hr"},
                        content_type="application/json")
    assert taken.status_code == 200 and taken.json()["status"] == "took_hr"
    assert ContactMethod.objects.get(person=conflicted["ben"], kind="sms").value == "+491706666666"
    twice = scoped.post(f"/api/v1/directory/sync/conflicts/{mobile['id']}/resolve", {"choice": "keep_local"},
                        content_type="application/json")
    assert twice.status_code == 400 and "already" in twice.json()["detail"]

    # A browser session needs a fresh step-up, as every contact write does.
    name_url = f"/api/v1/directory/sync/conflicts/{conflicted['name'].pk}/resolve"
    session = _client(admin)
    stale = session.post(name_url, {"choice": "keep_local"}, content_type="application/json")
    assert stale.status_code == 403 and "step-up" in stale.json()["detail"]
    _freshen(session, admin)
    kept = session.post(name_url, {"choice": "keep_local"}, content_type="application/json")
    assert kept.status_code == 200 and kept.json()["status"] == "kept_local"
    assert SyncConflict.objects.get(field="name").resolved_by == admin

    runs = scoped.get("/api/v1/directory/sync/runs").json()
    assert runs["count"] == 2 and runs["items"][0]["status"] == "ok" and "created" in runs["items"][0]["counts"]


def test_api_steward_sees_only_their_teams(conflicted, bearer):
    storage = bearer(conflicted["other_steward"], ["contacts:write"])
    items = storage.get("/api/v1/directory/sync/conflicts").json()["items"]
    assert [c["person"] for c in items] == ["Ben Okafor"]
    refused = storage.post(f"/api/v1/directory/sync/conflicts/{conflicted['name'].pk}/resolve",
                           {"choice": "take_hr"}, content_type="application/json")
    assert refused.status_code == 403 and SyncConflict.objects.get(field="name").status == "pending"
    assert storage.post("/api/v1/directory/sync/conflicts/999999/resolve", {"choice": "take_hr"},
                        content_type="application/json").status_code == 404


# --- export -------------------------------------------------------------------------------


def _export(client, query=""):
    response = client.get("/directory/people/export.csv" + query)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return response.content


def test_export_round_trips_through_the_import(org, make_person):
    hr_import.import_data(_csv(ANA, BEN, CARL), actor=SYSTEM)
    hand = make_person("Dora Hand", teams=[org["network"]], time_zone="Europe/Lisbon")
    services.add_method(actor=SYSTEM, source="cli", person=hand, kind="voice", value="+351 21 1234567")
    data = _export(_client(org["admin"]))
    rows = hr_csv.parse(data)
    assert sorted(r.name for r in rows) == ["Ana Silva", "Ben Okafor", "Carl Jung", "Dora Hand"]
    by_name = {r.name: r for r in rows}
    assert by_name["Ana Silva"].external_id == "E1" and by_name["Ana Silva"].mobile == "+491701111111"
    assert by_name["Ben Okafor"].phone == "+49302222222" and by_name["Dora Hand"].external_id == f"tocsin-{hand.pk}"
    assert [t.slug for t in by_name["Ben Okafor"].teams] == ["network", "storage"]
    assert by_name["Ana Silva"].site.slug == "berlin" and by_name["Dora Hand"].time_zone == "Europe/Lisbon"
    # Importing the export back changes none of the HR people. Dora has neither an HR id nor an
    # e-mail to be linked by, so her tocsin-<id> row would create her anew: known, and documented.
    plan = hr_import.preview(data)
    assert not (plan.changes or plan.deactivations or plan.conflicts)
    assert plan.unchanged == 3 and [c.row.name for c in plan.creates] == ["Dora Hand"]
    entry = AuditEntry.objects.get(action="contacts.csv_exported")
    assert entry.summary == {"people": 4, "method_values": 7, "source": "hr", "format": "csv"}


def test_export_guards_formulas_but_not_phone_numbers(org, make_person):
    person = make_person("=HYPERLINK(\"http://x\")", teams=[org["network"]])
    services.add_method(actor=SYSTEM, source="cli", person=person, kind="sms", value="+49 170 1234567")
    text = _export(_client(org["admin"])).decode()
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["name"] == "'=HYPERLINK(\"http://x\")" and row["mobile"] == "+491701234567"
    assert hr_csv.parse(text.encode())[0].mobile == "+491701234567"


def test_steward_exports_only_their_teams(org):
    hr_import.import_data(_csv(ANA, BEN, CARL), actor=SYSTEM)
    text = _export(_client(org["steward"])).decode()
    names = sorted(r["name"] for r in csv.DictReader(io.StringIO(text)))
    assert names == ["Ana Silva", "Ben Okafor"]  # Carl is in storage only
    assert _client(org["steward"]).get("/directory/people/export.csv?source=no%20way").status_code == 400
    ids = _export(_client(org["admin"]), "?source=okta").decode()
    assert "E1" not in ids and f"tocsin-{_person('E1').pk}" in ids


def test_people_page_links_follow_permissions(org):
    admin = _client(org["admin"]).get("/directory/people/").content.decode()
    assert "/directory/import/" in admin and "/directory/import/conflicts/" in admin and "export.csv" in admin
    steward = _client(org["steward"]).get("/directory/people/").content.decode()
    assert 'href="/directory/import/"' not in steward and "/directory/import/conflicts/" in steward
    viewer = _client(org["viewer"]).get("/directory/people/").content.decode()
    assert "/directory/import/" not in viewer and "export.csv" not in viewer


# --- refusals and audit -------------------------------------------------------------------


def test_viewer_gets_403_everywhere(conflicted, bearer):
    viewer = conflicted["viewer"]
    client = _client(viewer, fresh=True)
    conflict = conflicted["name"].pk
    assert client.get("/directory/import/").status_code == 403
    assert _upload(client, _csv(ANA)).status_code == 403
    assert client.post("/directory/import/apply/", {"sha256": "0" * 64}).status_code == 403
    assert client.post("/directory/import/discard/").status_code == 403
    assert client.get("/directory/import/conflicts/").status_code == 403
    assert client.post(f"/directory/import/conflicts/{conflict}/resolve/", {"choice": "take_hr"}).status_code == 403
    assert client.get("/directory/people/export.csv").status_code == 403
    api = bearer(viewer, ["contacts:write"])  # a scope does not give what the role lacks
    assert api.get("/api/v1/directory/sync/conflicts").status_code == 403
    assert api.get("/api/v1/directory/sync/runs").status_code == 403
    assert api.post(f"/api/v1/directory/sync/conflicts/{conflict}/resolve", {"choice": "take_hr"},
                    content_type="application/json").status_code == 403
    assert SyncConflict.objects.filter(status="pending").count() == 2
    assert not AuditEntry.objects.filter(action="contacts.csv_exported").exists()
    assert AuditEntry.objects.filter(action="permission.denied", actor_label__startswith="vera").count() == 10
    assert Client().get("/directory/import/").status_code == 302


def test_no_plaintext_values_in_audit_summaries(conflicted):
    client = _client(conflicted["admin"], fresh=True)
    client.post(f"/directory/import/conflicts/{conflicted['mobile'].pk}/resolve/", {"choice": "take_hr"})
    _upload(client, _csv(ANA.replace("+49 170 1111111", "+49 170 7777777"), BEN))
    _apply(client)
    _export(client)
    summaries = " ".join(str(e.summary) for e in AuditEntry.objects.all())
    for value in ("1111111", "2222222", "5555555", "6666666", "7777777", "ana@example.org", "ben@example.org"):
        assert value not in summaries, value
    assert {"directory.hr_imported", "directory.sync_conflict_resolved", "contacts.csv_exported"} <= set(
        AuditEntry.objects.values_list("action", flat=True)
    )


def test_machine_export_refused_without_the_page(org):
    # The export is a page for people; tokens use the offline export API. Unauthenticated: login.
    response = Client().get("/directory/people/export.csv")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
