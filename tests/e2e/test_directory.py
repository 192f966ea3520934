"""The directory in a real browser: a steward's edit behind step-up with history and restore,
and a responder's break-glass grant followed by an audited reveal."""

import re
import time

from django.contrib.sessions.backends.db import SessionStore
from django_otp.oath import TOTP
from playwright.sync_api import expect

from tocsin.core import audit, mfa
from tocsin.core import services as core_services
from tocsin.core.models import AuditEntry
from tocsin.directory import services
from tocsin.directory.models import ContactPolicy

PASSWORD = "correct-horse-battery-9"
SYSTEM = audit.Actor.system("test")


def device_code(device, offset=0):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)  # what the phone shows: no drift
    totp.time = time.time() + offset
    return str(totp.token()).zfill(6)


def path_is(live_server, path):
    return re.compile("^" + re.escape(live_server.url + path) + r"(\?.*)?$")


def sign_in(page, username):
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def network_person(make_team):
    network = make_team("Network")
    ana = services.create_person(actor=SYSTEM, source="cli", name="Ana Network", teams=[network])
    method = services.add_method(actor=SYSTEM, source="cli", person=ana, kind="sms", value="+49 30 1234542", label="mobile")
    return ana, method


def test_steward_edits_a_phone_behind_step_up_then_restores_it(page, live_server, make_user, make_team):
    ana, method = network_person(make_team)
    steward = make_user("stella", password=PASSWORD, roles=[("contact_steward", "network")])
    device = core_services.begin_totp_enrolment(steward)
    # Codes move forward one 30-s window per use: django-otp refuses a code it has seen.
    assert core_services.confirm_totp(steward, device, device_code(device, -30), actor=SYSTEM)

    sign_in(page, "stella")
    expect(page).to_have_url(path_is(live_server, "/login/mfa/"))
    page.get_by_label("Code").fill(device_code(device, 0))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(path_is(live_server, "/"))
    # Signing in counts as a step-up; age it so the edit has to ask for a fresh code.
    session = SessionStore(session_key=next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid"))
    session[mfa.SESSION_KEY] = time.time() - 3600
    session.save()

    page.get_by_role("link", name="People", exact=True).click()
    page.get_by_role("link", name="Ana Network").click()
    row = page.get_by_test_id(f"method-{method.pk}")
    expect(row.get_by_test_id("value")).to_have_text("+49 *** *** 42")
    row.get_by_role("link", name="Edit").click()

    expect(page).to_have_url(path_is(live_server, "/account/step-up/"))
    page.get_by_label("Code").fill(device_code(device, 30))
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(path_is(live_server, f"/directory/methods/{method.pk}/edit/"))
    page.get_by_label("Value").fill("+49 30 5550077")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(path_is(live_server, f"/directory/people/{ana.pk}/"))
    expect(page.get_by_role("status")).to_have_text("The contact method is saved.")
    expect(row.get_by_test_id("value")).to_have_text("+49 *** *** 77")

    page.get_by_role("link", name="History").click()
    history = page.get_by_test_id(f"history-{method.pk}")
    latest = history.locator(".version").first
    expect(latest).to_contain_text("by stella")
    expect(latest).to_contain_text("via web")
    expect(latest.locator("del")).to_contain_text("+49301234542")
    expect(latest.locator("ins")).to_contain_text("+49305550077")

    history.get_by_role("button", name="Restore this version").click()
    expect(page).to_have_url(path_is(live_server, f"/directory/people/{ana.pk}/history/"))
    expect(page.get_by_role("status")).to_contain_text("Restored the version")
    page.get_by_role("link", name="Details").click()
    expect(row.get_by_test_id("value")).to_have_text("+49 *** *** 42")
    row.get_by_role("button", name="Reveal").click()
    expect(row.get_by_test_id("value")).to_have_text("+49301234542")

    method.refresh_from_db()
    assert method.value == "+49301234542"
    assert AuditEntry.objects.filter(action="mfa.step_up", actor_label="stella").exists()
    assert AuditEntry.objects.filter(action="contact.method_restored", actor_label="stella").exists()


def test_responder_requests_a_grant_and_reveals(page, live_server, make_user, make_team):
    ana, method = network_person(make_team)
    ContactPolicy.objects.update_or_create(pk=1, defaults={"grant_self_approve_roles": ["responder"]})
    make_user("rico", password=PASSWORD, roles=["responder"])

    sign_in(page, "rico")
    expect(page).to_have_url(path_is(live_server, "/"))
    page.get_by_role("link", name="People", exact=True).click()
    expect(page.get_by_role("row", name=re.compile("Ana Network"))).to_contain_text("+49 *** *** 42")
    page.get_by_role("link", name="Ana Network").click()
    row = page.get_by_test_id(f"method-{method.pk}")
    row.get_by_role("button", name="Reveal").click()

    refusal = page.get_by_test_id("reveal-refused")
    expect(refusal).to_contain_text("This Mobile / SMS value is not shared with you.")
    expect(row.get_by_test_id("value")).to_have_text("+49 *** *** 42")
    refusal.get_by_role("link", name="request access").click()

    expect(page.get_by_role("heading", name="Request access to Ana Network")).to_be_visible()
    page.get_by_label("Reason").fill("Core router outage, Ana is the network on-call")
    page.get_by_label("Duration (minutes)").fill("60")
    page.get_by_role("button", name="Request access").click()

    expect(page).to_have_url(path_is(live_server, f"/directory/people/{ana.pk}/"))
    expect(page.get_by_role("status")).to_contain_text("Access to person Ana Network is granted until")
    row.get_by_role("button", name="Reveal").click()
    expect(row.get_by_test_id("value")).to_have_text("+49301234542")

    entry = AuditEntry.objects.get(action="contact.revealed", actor_label="rico")
    assert entry.object_type == "directory.contactmethod" and entry.object_id == str(method.pk)
    assert entry.summary["basis"] == "grant"
    assert AuditEntry.objects.filter(action="contact.reveal_denied", actor_label="rico").count() == 1
