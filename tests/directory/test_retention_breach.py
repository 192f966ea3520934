"""A6 and A8: anonymisation of long-gone people (history included) and the breach protocol."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from tocsin.core import audit, services as core_services
from tocsin.core.models import AuditEntry
from tocsin.core.permissions import Principal
from tocsin.directory import services
from tocsin.directory.breach_scope import affected
from tocsin.directory.models import ContactMethod, Person
from tocsin.directory.services import breaches
from tocsin.directory.visibility import reveal

from .conftest import SYSTEM


def test_purge_anonymises_people_deactivated_long_ago(make_person, phone):
    gone, recent = make_person("Gone Person"), make_person("Recent Person")
    phone(gone, "+49 170 1111111")
    services.add_external_id(gone, "hr", "E-17", actor=SYSTEM)
    services.deactivate_person(gone, actor=SYSTEM)
    services.deactivate_person(recent, actor=SYSTEM)
    Person.objects.filter(pk=gone.pk).update(deactivated_at=timezone.now() - timedelta(days=401))
    call_command("purge")
    gone.refresh_from_db()
    recent.refresh_from_db()
    assert gone.name == f"Former person #{gone.pk}" and gone.anonymised_at and not gone.external_ids.exists()
    assert recent.name == "Recent Person" and recent.anonymised_at is None
    assert not ContactMethod.objects.filter(person_id=gone.pk).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM directory_historicalperson WHERE id = %s", [gone.pk])
        assert {row[0] for row in cursor.fetchall()} == {f"Former person #{gone.pk}"}
        cursor.execute("SELECT value, value_index FROM directory_historicalcontactmethod WHERE person_id = %s", [gone.pk])
        assert all(value == "" and index == "" for value, index in cursor.fetchall())
    assert AuditEntry.objects.filter(action="person.anonymised", object_id=str(gone.pk)).exists()
    assert audit.verify().ok  # the chain still holds: nothing was removed from it


def test_reactivation_stops_the_clock(make_person):
    person = make_person("Back Again")
    services.deactivate_person(person, actor=SYSTEM)
    services.reactivate_person(person, actor=SYSTEM)
    person.refresh_from_db()
    assert person.is_active and person.deactivated_at is None


def test_breach_lists_affected_people_and_tracks_obligations(make_user, make_team, make_person, phone):
    network = make_team("Network")
    ana, ben, cleo = (make_person(n, teams=[network]) for n in ("Ana", "Ben", "Cleo"))
    methods = [phone(p, f"+49 170 12345{i}0") for i, p in enumerate((ana, ben, cleo))]
    insider = Principal.load(make_user("insider", roles=[("contact_steward", "network")]))
    other = Principal.load(make_user("other", roles=["admin"]))
    start = timezone.now()
    reveal(insider, methods[0])
    reveal(insider, methods[1])
    reveal(other, methods[2])
    end = timezone.now() + timedelta(seconds=1)
    officer = make_user("sec", roles=["security_officer"])
    breach = breaches.open_breach(
        actor=audit.Actor.user(officer), opened_by=officer, description="Steward account used from an unknown IP",
        window_start=start, window_end=end, suspect_actor="insider",
    )
    scope = affected(breach)
    assert [p.name for p in scope.people] == ["Ana", "Ben"] and scope.reveals == 2
    obligations = {o.kind: o for o in breach.obligations.all()}
    assert obligations["authority"].due_at == breach.detected_at + timedelta(hours=72)
    with time_machine.travel(breach.detected_at + timedelta(hours=73)):
        assert obligations["authority"].overdue
    breaches.complete_obligation(obligations["internal"], actor=audit.Actor.user(officer), done_by=officer, note="DPO told")
    with pytest.raises(ValidationError):
        breaches.complete_obligation(obligations["internal"], actor=audit.Actor.user(officer), done_by=officer)


def test_breach_api_is_for_security_officers(make_user, make_person, phone):
    officer = make_user("sec", roles=["security_officer"])
    viewer = make_user("view", roles=["viewer"])
    _, secret = core_services.issue_token(officer, actor=SYSTEM, name="t")
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    now = timezone.now()
    payload = {"description": "Exported list found on a file share", "window_start": (now - timedelta(days=2)).isoformat(),
               "window_end": now.isoformat()}
    created = client.post("/api/v1/directory/breaches", payload, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert [o["kind"] for o in body["obligations"]] == ["internal", "authority", "subjects"]
    detail = client.get(f"/api/v1/directory/breaches/{body['id']}").json()
    assert detail["affected_people"] == [] and detail["reveals"] == 0
    done = client.post(f"/api/v1/directory/breaches/{body['id']}/obligations/{body['obligations'][1]['id']}/done", {"note": "Filed"}, content_type="application/json")
    assert done.status_code == 200 and done.json()["done_at"]
    _, viewer_secret = core_services.issue_token(viewer, actor=SYSTEM, name="t")
    assert Client(headers={"Authorization": f"Bearer {viewer_secret}"}).get("/api/v1/directory/breaches").status_code == 403


def test_breach_pages(make_user, make_team, make_person, phone):
    network = make_team("Network")
    ana = make_person("Ana", teams=[network])
    method = phone(ana, "+49 170 1234560")
    reveal(Principal.load(make_user("insider", roles=[("contact_steward", "network")])), method)
    officer = make_user("sec", roles=["security_officer"])
    client = Client()
    client.force_login(officer)
    now = timezone.now()
    bad = client.post("/directory/breaches/", {"description": "short", "window_start": "2026-01-02 00:00", "window_end": "2026-01-01 00:00"})
    assert bad.status_code == 400
    created = client.post("/directory/breaches/", {
        "description": "Steward laptop stolen with an open session",
        "window_start": (now - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
        "window_end": (now + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"), "suspect_actor": "insider",
    })
    assert created.status_code == 302
    page = client.get(created["Location"])
    assert b"Ana" in page.content and b"1 reveal" in page.content
    obligation = page.context["obligations"][0]
    client.post(f"{created['Location']}obligations/{obligation.pk}/done/", {"note": "DPO informed"})
    obligation.refresh_from_db()
    assert obligation.done_at is not None
    viewer = Client()
    viewer.force_login(make_user("v", roles=["viewer"]))
    assert viewer.get("/directory/breaches/").status_code == 403
