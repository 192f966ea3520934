"""The directory's web pages: need-to-know on every page, edits behind step-up, history, access review."""

import csv
import io
import re
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from tocsin.core import mfa
from tocsin.core.models import AuditEntry, RoleAssignment
from tocsin.directory import services
from tocsin.directory.models import AccessGrant, ContactMethod, ContactPolicy, Delegation, Person
from tocsin.directory.services import stewardship
from tocsin.directory.values import index_for, normalise

from .conftest import SYSTEM


def _client(user, *, fresh=False):
    client = Client()
    client.force_login(user)
    if fresh:
        TOTPDevice.objects.get_or_create(user=user, name="Authenticator app", defaults={"confirmed": True})
        session = client.session
        session[mfa.SESSION_KEY] = time.time()  # as if a TOTP code was entered a moment ago
        session.save()
    return client


@pytest.fixture
def world(make_user, make_team, make_person, phone):
    """Team A (network) and team B (database), one person in each, a steward of A and a viewer."""
    network, database = make_team("Network"), make_team("Database")
    ana = make_person("Ana Network", teams=[network])
    bob = make_person("Bob Database", teams=[database])
    return {
        "network": network, "database": database, "ana": ana, "bob": bob,
        "ana_phone": phone(ana, "+49 30 1234542", label="mobile"),
        "bob_phone": phone(bob, "+49 30 7654321"),
        "steward": make_user("stew", roles=[("contact_steward", "network")]),
        "viewer": make_user("vera", roles=["viewer"]),
        "admin": make_user("root", roles=["admin"]),
    }


PAGES = ["/directory/people/", "/directory/roles/", "/directory/sheet/", "/directory/access/"]


@pytest.mark.parametrize("role", ["admin", "responder", "contact_steward", "security_officer", "auditor", "viewer"])
def test_reading_pages_are_open_to_every_role_but_compliance_is_for_stewards(make_user, make_team, role):
    make_team("Network")
    client = _client(make_user(f"u-{role}", roles=[role], teams=["network"]))
    for path in PAGES:
        assert client.get(path).status_code == 200, path
    response = client.get("/directory/compliance/")
    if role in {"admin", "contact_steward"}:
        assert response.status_code == 200
    else:
        assert response.status_code == 403 and b"Not allowed" in response.content


def test_anonymous_is_sent_to_login(db):
    for path in [*PAGES, "/directory/people/1/"]:
        response = Client().get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next="), path


def test_viewer_sees_masked_values_only_and_cannot_edit(world):
    client = _client(world["viewer"], fresh=True)
    listing = client.get("/directory/people/").content.decode()
    assert "+49 *** *** 42" in listing and "1234542" not in listing
    page = client.get(f"/directory/people/{world['ana'].pk}/").content.decode()
    assert "+49 *** *** 42" in page and "1234542" not in page
    assert "Request access" in page and "Edit" not in page
    method = world["ana_phone"]
    for response in (
        client.get(f"/directory/methods/{method.pk}/edit/"),
        client.post(f"/directory/methods/{method.pk}/edit/", {"kind": "sms", "value": "+49 30 9999999"}),
        client.post(f"/directory/methods/{method.pk}/verify/"),
        client.get(f"/directory/people/{world['ana'].pk}/methods/new/"),
    ):
        assert response.status_code == 403 and b"Not allowed" in response.content
    method.refresh_from_db()
    assert method.value == "+49301234542" and not method.verified
    assert AuditEntry.objects.filter(action="permission.denied", actor_label="vera").exists()


def test_reveal_is_refused_kindly_for_a_viewer_and_audited_for_a_steward(world):
    method = world["ana_phone"]
    refused = _client(world["viewer"]).post(f"/directory/methods/{method.pk}/reveal/")
    assert refused.status_code == 403
    body = refused.content.decode()
    assert "request access" in body and f"/directory/access/?person={world['ana'].pk}" in body and "1234542" not in body
    assert AuditEntry.objects.filter(action="contact.reveal_denied", actor_label="vera").exists()

    shown = _client(world["steward"]).post(f"/directory/methods/{method.pk}/reveal/")
    assert shown.status_code == 200 and b"+49301234542" in shown.content
    entry = AuditEntry.objects.get(action="contact.revealed", actor_label="stew")
    assert entry.object_id == str(method.pk) and entry.summary["basis"] == "standing"


def test_steward_of_team_a_edits_people_of_a_but_not_of_b(world):
    client = _client(world["steward"], fresh=True)
    ana_phone, bob_phone = world["ana_phone"], world["bob_phone"]
    assert client.get(f"/directory/methods/{ana_phone.pk}/edit/").status_code == 200
    response = client.post(
        f"/directory/methods/{ana_phone.pk}/edit/",
        {"kind": "sms", "value": "+49 30 5550042", "label": "mobile", "availability": "24/7", "usage": "routine",
         "order": "0", "is_active": "on"},
    )
    assert response.status_code == 302 and response["Location"] == f"/directory/people/{world['ana'].pk}/"
    ana_phone.refresh_from_db()
    assert ana_phone.value == "+49305550042"
    version = ana_phone.history.latest("history_date")
    assert version.history_user == world["steward"] and version.history_change_reason.startswith("ui:")

    assert client.get(f"/directory/methods/{bob_phone.pk}/edit/").status_code == 403
    assert client.post(f"/directory/methods/{bob_phone.pk}/verify/").status_code == 403
    assert client.get(f"/directory/people/{world['bob'].pk}/methods/new/").status_code == 403
    # The person page offers editing only where it is allowed.
    assert b"Edit</a>" in client.get(f"/directory/people/{world['ana'].pk}/").content
    assert b"Edit</a>" not in client.get(f"/directory/people/{world['bob'].pk}/").content


def test_admin_edits_anyone(world):
    client = _client(world["admin"], fresh=True)
    assert client.get(f"/directory/methods/{world['bob_phone'].pk}/edit/").status_code == 200


def test_edit_without_fresh_step_up_goes_to_step_up_and_back(world):
    method = world["ana_phone"]
    client = _client(world["steward"])
    TOTPDevice.objects.create(user=world["steward"], name="Authenticator app", confirmed=True)
    path = f"/directory/methods/{method.pk}/edit/"
    for response in (client.get(path), client.post(path, {"kind": "sms", "value": "+49 30 9999999"})):
        assert response.status_code == 302
        assert response["Location"] == f"/account/step-up/?next={path.replace('/', '%2F')}"
    method.refresh_from_db()
    assert method.value == "+49301234542"
    # Without an authenticator the steward is sent to set one up first.
    TOTPDevice.objects.filter(user=world["steward"]).delete()
    assert client.get(path)["Location"].startswith("/account/mfa/enrol/?next=")
    # Adding and restoring are guarded the same way.
    assert client.get(f"/directory/people/{world['ana'].pk}/methods/new/")["Location"].startswith("/account/mfa/enrol/")
    version = method.history.earliest("history_date")
    restore = client.post(f"/directory/methods/{method.pk}/restore/{version.history_id}/")
    assert restore["Location"].startswith("/account/mfa/enrol/")


def test_bad_input_names_the_field_instead_of_failing(world):
    client = _client(world["steward"], fresh=True)
    method = world["ana_phone"]
    response = client.post(
        f"/directory/methods/{method.pk}/edit/",
        {"kind": "sms", "value": "call me maybe", "availability": "24/7", "usage": "routine", "order": "0"},
    )
    assert response.status_code == 400
    assert "&#x27;call me maybe&#x27; is not a phone number" in response.content.decode()
    response = client.post(
        f"/directory/methods/{method.pk}/edit/",
        {"kind": "sms", "value": "", "availability": "weekdays", "usage": "routine", "order": "0"},
    )
    assert response.status_code == 400 and b"is not an availability window" in response.content
    response = client.post(
        f"/directory/people/{world['ana'].pk}/methods/new/",
        {"kind": "email", "value": "not-an-address", "availability": "24/7", "usage": "routine", "order": "1"},
    )
    assert response.status_code == 400 and b"not a valid e-mail address" in response.content
    response = client.post(f"/directory/people/{world['ana'].pk}/methods/new/", {"kind": "pigeon", "order": "x"})
    assert response.status_code == 400 and b"Select a valid choice" in response.content
    method.refresh_from_db()
    assert method.value == "+49301234542" and ContactMethod.objects.filter(person=world["ana"]).count() == 1


def test_add_and_mark_verified(world):
    client = _client(world["steward"], fresh=True)
    response = client.post(
        f"/directory/people/{world['ana'].pk}/methods/new/",
        {"kind": "email", "value": "ana@Example.org", "label": "work", "availability": "Mon-Fri 08:00-18:00 Europe/Berlin",
         "usage": "emergency_only", "order": "2"},
    )
    assert response.status_code == 302
    added = ContactMethod.objects.get(person=world["ana"], kind="email")
    assert added.value == "ana@example.org" and added.usage == "emergency_only" and not added.verified
    assert client.post(f"/directory/methods/{added.pk}/verify/").status_code == 302
    added.refresh_from_db()
    assert added.verified
    page = client.get(f"/directory/people/{world['ana'].pk}/").content.decode()
    assert "emergency only" in page and "a***@example.org" in page and "Mon-Fri 08:00-18:00 Europe/Berlin" in page


def test_history_shows_who_source_and_diff_and_restore_brings_back_the_old_value(world):
    method = world["ana_phone"]
    services.update_method(method, actor=SYSTEM, source="scim", value="+49 30 5550042")
    steward = _client(world["steward"], fresh=True)
    page = steward.get(f"/directory/people/{world['ana'].pk}/history/").content.decode()
    assert "via SCIM" in page and "via command line" in page
    assert "+49301234542" in page and "+49305550042" in page  # the steward may reveal: clear diff, audited
    assert AuditEntry.objects.filter(action="contact.history_revealed", actor_label="stew").exists()

    viewer = _client(world["viewer"]).get(f"/directory/people/{world['ana'].pk}/history/").content.decode()
    assert "+49 *** *** 42" in viewer and "1234542" not in viewer and "5550042" not in viewer
    assert "Restore this version" not in viewer

    first = method.history.earliest("history_date")
    confirm = steward.get(f"/directory/methods/{method.pk}/restore/{first.history_id}/")
    assert confirm.status_code == 200 and b"Restore this version?" in confirm.content
    response = steward.post(f"/directory/methods/{method.pk}/restore/{first.history_id}/")
    assert response.status_code == 302 and response["Location"] == f"/directory/people/{world['ana'].pk}/history/"
    method.refresh_from_db()
    assert method.value == "+49301234542"
    assert AuditEntry.objects.filter(action="contact.method_restored", actor_label="stew").exists()
    assert _client(world["viewer"]).post(f"/directory/methods/{method.pk}/restore/{first.history_id}/").status_code == 403


def _bulk_people(count, team):
    """Many people fast: the list page only reads, so the services' audit trail is not needed here."""
    people = Person.objects.bulk_create([Person(name=f"Person {i:04d}", tags=["bgp"]) for i in range(count)])
    Person.teams.through.objects.bulk_create([Person.teams.through(person=p, team=team) for p in people])
    methods = []
    for i, person in enumerate(people):
        for kind, raw in (("sms", f"+49 30 {1000000 + i}"), ("email", f"p{i}@example.org")):
            value = normalise(kind, raw)
            methods.append(ContactMethod(person=person, kind=kind, value=value, value_index=index_for(kind, value)))
    ContactMethod.objects.bulk_create(methods)


def _queries(client, path):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_people_list_query_count_does_not_grow_with_rows(make_user, make_team):
    team = make_team("Network")
    client = _client(make_user("root", roles=["admin"]))
    _bulk_people(10, team)
    few = _queries(client, "/directory/people/")
    _bulk_people(190, team)
    many = _queries(client, "/directory/people/")
    assert few == many, (few, many)
    assert many <= 14
    filtered = _queries(client, f"/directory/people/?team={team.slug}&q=person&active=all&page=3")
    assert filtered == many + 1  # the one extra reads the chosen team


def test_people_list_filters_and_pages(world, make_team, make_person):
    client = _client(world["viewer"])
    assert "Bob Database" not in client.get("/directory/people/?team=network").content.decode()
    assert "Bob Database" in client.get("/directory/people/?q=bob").content.decode()
    services.deactivate_person(world["bob"], actor=SYSTEM)
    assert "Bob Database" not in client.get("/directory/people/").content.decode()
    assert "Bob Database" in client.get("/directory/people/?active=no").content.decode()
    # Unknown filter values and pages do not fail the page.
    assert client.get("/directory/people/?team=nope&site=x&active=maybe&page=999").status_code == 200
    _bulk_people(60, world["network"])
    second = client.get("/directory/people/?page=2&team=network").content.decode()
    assert "Page 2 of 2" in second and "team=network" in second


def test_confirm_link_valid_expired_and_tampered(world, make_user):
    ana = world["ana"]
    page = _client(world["steward"]).get(f"/directory/people/{ana.pk}/").content.decode()
    # The token carries a timestamp, so take the one the page shows rather than making another.
    token = re.search(r"/directory/confirm/([^/]+)/", page).group(1)
    assert stewardship.person_for_token(token) == ana
    anonymous = Client()
    shown = anonymous.get(f"/directory/confirm/{token}/")
    assert shown.status_code == 200 and b"+49 *** *** 42" in shown.content and b"1234542" not in shown.content
    done = anonymous.post(f"/directory/confirm/{token}/")
    assert done.status_code == 200 and b"Thank you" in done.content
    ana.refresh_from_db()
    assert ana.last_validated_at is not None
    assert AuditEntry.objects.filter(action="person.validated", object_id=str(ana.pk)).exists()

    with time_machine.travel(timezone.now() + timedelta(days=15)):
        expired = anonymous.get(f"/directory/confirm/{token}/")
    assert expired.status_code == 400 and b"expired" in expired.content
    tampered = token[:-2] + ("aa" if not token.endswith("aa") else "bb")
    for bad in (tampered, f"{world['bob'].pk}:{token.split(':', 1)[1]}", "nonsense"):
        response = anonymous.post(f"/directory/confirm/{bad}/")
        assert response.status_code == 400 and b"not valid" in response.content
    assert Person.objects.get(pk=world["bob"].pk).last_validated_at is None
    # A viewer never sees the link.
    assert b"/directory/confirm/" not in _client(world["viewer"]).get(f"/directory/people/{ana.pk}/").content


def test_grant_request_approval_and_reveal(world, make_user):
    officer = make_user("sec", roles=["security_officer"])
    viewer = _client(world["viewer"])
    ana = world["ana"]
    form = viewer.get(f"/directory/access/?person={ana.pk}").content.decode()
    assert "Request access to Ana Network" in form
    short = viewer.post("/directory/access/request/", {"scope": "person", "person": ana.pk, "reason": "why", "duration_minutes": 60})
    assert short.status_code == 400 and b"at least 10 characters" in short.content
    long = viewer.post("/directory/access/request/", {"scope": "person", "person": ana.pk, "reason": "Outage on core router, need Ana", "duration_minutes": 99999})
    assert long.status_code == 400 and b"between 5 and" in long.content
    response = viewer.post(
        "/directory/access/request/",
        {"scope": "person", "person": ana.pk, "reason": "Outage on core router, need Ana", "duration_minutes": 60},
    )
    assert response.status_code == 302
    grant = AccessGrant.objects.get(grantee=world["viewer"])
    assert grant.status == AccessGrant.PENDING
    assert viewer.post(f"/directory/methods/{world['ana_phone'].pk}/reveal/").status_code == 403
    assert viewer.post(f"/directory/access/grants/{grant.pk}/approve/").status_code == 403

    reviewer = _client(officer)
    assert f"pending-{grant.pk}" in reviewer.get("/directory/access/").content.decode()
    assert reviewer.post(f"/directory/access/grants/{grant.pk}/approve/").status_code == 302
    grant.refresh_from_db()
    assert grant.status == AccessGrant.ACTIVE and grant.decided_by == officer
    shown = viewer.post(f"/directory/methods/{world['ana_phone'].pk}/reveal/")
    assert shown.status_code == 200 and b"+49301234542" in shown.content
    assert AuditEntry.objects.get(action="contact.revealed", actor_label="vera").summary["grant"] == grant.pk
    # Team and role scopes: choosing nothing is a form error, not a crash.
    missing = viewer.post("/directory/access/request/", {"scope": "team", "reason": "Outage on core router", "duration_minutes": 60})
    assert missing.status_code == 400 and b"Choose the team" in missing.content


def test_self_approving_roles_get_access_at_once(world, make_user):
    policy = ContactPolicy.get()
    policy.grant_self_approve_roles = ["responder"]
    policy.save()
    responder = make_user("rita", roles=["responder"])
    client = _client(responder)
    response = client.post(
        "/directory/access/request/",
        {"scope": "team", "team": "database", "reason": "Database is down, paging its people", "duration_minutes": 30},
    )
    assert response.status_code == 302 and response["Location"] == "/directory/access/"
    grant = AccessGrant.objects.get(grantee=responder)
    assert grant.status == AccessGrant.ACTIVE and grant.team == world["database"]
    assert client.post(f"/directory/methods/{world['bob_phone'].pk}/reveal/").status_code == 200
    # The grantee may give it up again.
    assert client.post(f"/directory/access/grants/{grant.pk}/revoke/").status_code == 302
    grant.refresh_from_db()
    assert grant.status == AccessGrant.REVOKED
    assert client.post(f"/directory/methods/{world['bob_phone'].pk}/reveal/").status_code == 403


def test_access_review_lists_revokes_and_exports(world, make_user):
    officer = make_user("sec", roles=["security_officer"])
    grant = services.request_grant(
        world["viewer"], actor=SYSTEM, reason="Need to reach Bob today", duration_minutes=60, person=world["bob"]
    )
    services.approve_grant(grant, officer, actor=SYSTEM)
    client = _client(officer)
    page = client.get("/directory/access/").content.decode()
    steward_role = RoleAssignment.objects.get(user=world["steward"])
    assert f"assignment-{steward_role.pk}" in page and f"grant-{grant.pk}" in page

    exported = client.get("/directory/access/review.csv")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0][:3] == ["kind", "user", "what"]
    assert ["role", "stew", "contact_steward", "network"] == rows[[r[1] for r in rows].index("stew")][:4]
    assert any(r[0] == "grant" and r[1] == "vera" for r in rows)
    assert AuditEntry.objects.filter(action="access.review_exported", actor_label="sec").exists()

    assert client.post(f"/directory/access/roles/{steward_role.pk}/revoke/").status_code == 302
    assert not RoleAssignment.objects.filter(pk=steward_role.pk).exists()
    assert AuditEntry.objects.filter(action="role.revoked", actor_label="sec").exists()
    assert client.post(f"/directory/access/grants/{grant.pk}/revoke/").status_code == 302
    grant.refresh_from_db()
    assert grant.status == AccessGrant.REVOKED

    viewer = _client(world["viewer"])
    admin_role = RoleAssignment.objects.get(user=world["admin"])
    assert viewer.post(f"/directory/access/roles/{admin_role.pk}/revoke/").status_code == 403
    assert viewer.get("/directory/access/review.csv").status_code == 403
    assert "Access review" not in viewer.get("/directory/access/").content.decode()
    assert RoleAssignment.objects.filter(pk=admin_role.pk).exists()


def test_roles_page_shows_holders_delegations_and_gaps(world, make_role, make_person):
    ben = make_person("Ben Network", teams=[world["network"]])
    manager = make_role("IT Manager", critical=True)
    make_role("Orphan role")
    services.assign_holder(manager, world["ana"], actor=SYSTEM)
    client = _client(world["steward"], fresh=True)
    until = timezone.now() + timedelta(days=3)
    response = client.post(
        f"/directory/people/{world['ana'].pk}/delegate/",
        {"delegate": ben.pk, "starts_at": (timezone.now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"),
         "ends_at": until.strftime("%Y-%m-%dT%H:%M"), "reason": "Holiday"},
    )
    assert response.status_code == 302, response.content
    assert Delegation.objects.get(delegator=world["ana"]).delegate == ben
    page = client.get("/directory/roles/").content.decode()
    assert "Ana Network</a> → <a" in page and "Ben Network" in page and until.strftime("%Y-%m-%d") in page
    assert 'class="gap"' in page and "Coverage gap" in page
    bad = client.post(
        f"/directory/people/{world['ana'].pk}/delegate/",
        {"delegate": ben.pk, "starts_at": "2030-01-02T00:00", "ends_at": "2030-01-01T00:00"},
    )
    assert bad.status_code == 400 and b"must end after it starts" in bad.content
    # The viewer may not hand over Ana's roles.
    assert _client(world["viewer"]).post(f"/directory/people/{world['ana'].pk}/delegate/", {}).status_code == 403


def test_contact_sheet_lists_levels_in_order(world, make_role):
    help_desk = make_role("Help Desk", sheet_level=1, hours="24/7", response_commitment="5 min")
    cto = make_role("CTO", sheet_level=3)
    manager = make_role("IT Manager", sheet_level=2, response_commitment="15 min")
    services.add_method(actor=SYSTEM, source="cli", role=help_desk, kind="voice", value="+49 30 1112223")
    services.assign_holder(manager, world["ana"], actor=SYSTEM)
    services.assign_holder(cto, world["bob"], actor=SYSTEM)
    page = _client(world["viewer"]).get("/directory/sheet/").content.decode()
    assert page.index("Help Desk") < page.index("IT Manager") < page.index("CTO")
    assert "+49301112223" in page  # a shared hotline is shown in full
    assert "+49 *** *** 42" in page and "1234542" not in page and "15 min" in page


def test_compliance_page_for_steward_and_admin(world, make_role):
    from tocsin.directory.models import Stewardship

    Stewardship.objects.create(team=world["network"], steward=world["steward"])
    Stewardship.objects.create(team=world["database"], steward=world["admin"])
    critical = make_role("Network on-call", critical=True)
    services.assign_holder(critical, world["ana"], actor=SYSTEM)
    make_role("Orphan role")
    steward_page = _client(world["steward"]).get("/directory/compliance/").content.decode()
    assert "Ana Network" in steward_page and "Bob Database" not in steward_page and "Orphan role" in steward_page
    assert "0 of 3" in steward_page
    admin_page = _client(world["admin"]).get("/directory/compliance/").content.decode()
    assert "Bob Database" in admin_page


def test_nav_links_follow_permissions(world):
    page = _client(world["viewer"]).get("/").content.decode()
    for label in ("People", "Roles", "Contact sheet", "Access"):
        assert f">{label}</a>" in page


def test_unknown_team_slug_in_grant_form_is_a_form_error(world):
    response = _client(world["viewer"]).post(
        "/directory/access/request/", {"scope": "team", "team": "nope", "reason": "x" * 20, "duration_minutes": "abc"}
    )
    assert response.status_code == 400 and b"Select a valid choice" in response.content
