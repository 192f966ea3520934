"""Sign-in, TOTP enrolment, sign-out and the MFA login step, in a real browser."""

import re
import time
from base64 import b32decode

from django_otp.oath import TOTP
from playwright.sync_api import expect

from tocsin.core.models import AuditEntry, RolePolicy

PASSWORD = "correct-horse-battery-9"


def totp_code(secret, offset=0):
    """The 6-digit code an authenticator app shows for `secret` (base32, padding stripped)."""
    key = b32decode(secret + "=" * (-len(secret) % 8))
    totp = TOTP(key, step=30, t0=0, digits=6)
    totp.time = time.time() + offset
    return str(totp.token()).zfill(6)


def path_is(live_server, path):
    return re.compile("^" + re.escape(live_server.url + path) + r"(\?.*)?$")


def sign_in(page, username, password):
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_enrol_totp_sign_out_and_sign_in_with_code(page, live_server, make_user):
    make_user("alice", password=PASSWORD, roles=["admin"])

    sign_in(page, "alice", PASSWORD)
    expect(page).to_have_url(path_is(live_server, "/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")

    page.goto("/account/mfa/enrol/")
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    page.get_by_label("Code from the app").fill(totp_code(secret))
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Your authenticator is set up")).to_be_visible()
    codes = page.get_by_test_id("recovery-codes").locator("li")
    expect(codes).to_have_count(10)
    assert all(code.strip() for code in codes.all_inner_texts())

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(path_is(live_server, "/login/"))
    expect(page.get_by_role("status")).to_have_text("You are signed out.")

    sign_in(page, "alice", PASSWORD)
    expect(page).to_have_url(path_is(live_server, "/login/mfa/"))
    # django-otp refuses a code twice: the enrolment used this window's, so use the next one.
    page.get_by_label("Code").fill(totp_code(secret, offset=30))
    page.get_by_role("button", name="Verify").click()

    expect(page).to_have_url(path_is(live_server, "/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome, alice")
    expect(page.get_by_text("Your account has no second factor yet")).to_have_count(0)

    actions = set(AuditEntry.objects.filter(actor_label="alice").values_list("action", flat=True))
    assert {"auth.login", "mfa.enrolled", "auth.logout", "mfa.verified"} <= actions, actions
    assert AuditEntry.objects.filter(action="auth.login", actor_label="alice").count() == 2


def test_wrong_code_at_mfa_step_is_refused(page, live_server, make_user):
    make_user("bob", password=PASSWORD)

    sign_in(page, "bob", PASSWORD)
    page.goto("/account/mfa/enrol/")
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    page.get_by_label("Code from the app").fill(totp_code(secret))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("recovery-codes")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(path_is(live_server, "/login/"))

    sign_in(page, "bob", PASSWORD)
    expect(page).to_have_url(path_is(live_server, "/login/mfa/"))
    good = {totp_code(secret, offset) for offset in (-30, 0, 30)}
    wrong = next(code for code in ("000000", "111111", "222222") if code not in good)
    page.get_by_label("Code").fill(wrong)
    page.get_by_role("button", name="Verify").click()

    expect(page.get_by_text("That code is not valid.")).to_be_visible()
    expect(page).to_have_url(path_is(live_server, "/login/mfa/"))
    page.goto("/account/")
    expect(page).to_have_url(path_is(live_server, "/login/"))
    assert AuditEntry.objects.filter(action="mfa.failed", actor_label="bob").exists()


def test_wrong_password_shows_error_and_stays_on_login(page, live_server, make_user):
    make_user("carol", password=PASSWORD)

    sign_in(page, "carol", "not-the-password-1")

    expect(page.get_by_text("That username and password do not match an active account.")).to_be_visible()
    expect(page).to_have_url(path_is(live_server, "/login/"))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    assert AuditEntry.objects.filter(action="auth.login_failed", actor_label="carol").exists()
    assert not AuditEntry.objects.filter(action="auth.login", actor_label="carol").exists()


def test_role_policy_forces_enrolment(page, live_server, make_user):
    RolePolicy.objects.create(role="admin", require_mfa=True)
    make_user("dave", password=PASSWORD, roles=["admin"])

    sign_in(page, "dave", PASSWORD)
    enrol = path_is(live_server, "/account/mfa/enrol/")
    expect(page).to_have_url(enrol)
    for path in ("/", "/account/", "/admin/users/", "/audit/"):
        page.goto(path)
        expect(page).to_have_url(enrol)
        expect(page.get_by_test_id("totp-secret")).to_be_visible()

    # Once enrolled, the policy lets the user through.
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    page.get_by_label("Code from the app").fill(totp_code(secret))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("recovery-codes")).to_be_visible()
    page.goto("/account/")
    expect(page).to_have_url(path_is(live_server, "/account/"))
    assert AuditEntry.objects.filter(action="mfa.enrolled", actor_label="dave").exists()
