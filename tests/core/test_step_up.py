"""A3: sensitive actions demand a fresh TOTP step-up, which expires."""

import time

import time_machine
from django.test import Client
from django_otp.oath import TOTP

from tocsin.core import audit, mfa, services
from tocsin.core.models import AuditEntry, RolePolicy

PASSWORD = "correct-horse-battery-9"


def _code(device, offset=0):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset
    return totp.token()


def _enrolled_admin(make_user):
    user = make_user("root", roles=["admin"], password=PASSWORD)
    device = services.begin_totp_enrolment(user)
    codes = services.confirm_totp(user, device, str(_code(device)).zfill(6), actor=audit.Actor.user(user))
    assert codes and len(codes) == 10
    device.refresh_from_db()
    return user, device, codes


def _sign_in(client, device, offset=30):
    response = client.post("/login/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/login/mfa/"
    response = client.post("/login/mfa/", {"code": str(_code(device, offset)).zfill(6)})
    assert response.status_code == 302, response.content
    return client


def test_step_up_is_fresh_after_login_and_expires(make_user, settings):
    settings.TOCSIN_STEP_UP_MINUTES = 5
    user, device, _ = _enrolled_admin(make_user)
    client = _sign_in(Client(), device)
    # Fresh: the MFA policy change goes through.
    response = client.post("/admin/mfa-policy/", {"require_mfa": ["admin"]})
    assert response.status_code == 302 and response["Location"] == "/admin/mfa-policy/"
    assert RolePolicy.objects.get(role="admin").require_mfa
    # Six minutes later the same action is sent to the step-up page and changes nothing.
    with time_machine.travel(time.time() + 6 * 60):
        response = client.post("/admin/mfa-policy/", {})
        assert response.status_code == 302
        assert response["Location"].startswith("/account/step-up/?next=")
        assert RolePolicy.objects.get(role="admin").require_mfa
        # A new code (the next window: django-otp refuses a code twice) makes it fresh again.
        step = client.post("/account/step-up/", {"code": str(_code(device, 30)).zfill(6), "next": "/admin/mfa-policy/"})
        assert step.status_code == 302 and step["Location"] == "/admin/mfa-policy/"
        assert client.post("/admin/mfa-policy/", {}).status_code == 302
        assert not RolePolicy.objects.get(role="admin").require_mfa
    assert AuditEntry.objects.filter(action="mfa.step_up", actor_label="root").exists()


def test_wrong_step_up_code_is_refused_and_audited(make_user):
    user, device, _ = _enrolled_admin(make_user)
    client = _sign_in(Client(), device)
    response = client.post("/account/step-up/", {"code": "000000", "next": "/"})
    assert response.status_code == 200 and b"not valid" in response.content
    assert AuditEntry.objects.filter(action="mfa.step_up_failed").exists()


def test_step_up_guard_answers_json_to_api_clients(rf, make_user):
    from django.contrib.sessions.backends.db import SessionStore

    request = rf.get("/api/v1/something", HTTP_ACCEPT="application/json")
    request.session = SessionStore()
    request.user = make_user(roles=["admin"])
    response = mfa.require_step_up(lambda r: None)(request)
    assert response.status_code == 403 and b"step_up_required" in response.content


def test_recovery_code_signs_in_once(make_user):
    user, device, codes = _enrolled_admin(make_user)
    client = Client()
    client.post("/login/", {"username": "root", "password": PASSWORD})
    assert client.post("/login/mfa/", {"code": codes[0]}).status_code == 302
    client.post("/logout/")
    client.post("/login/", {"username": "root", "password": PASSWORD})
    response = client.post("/login/mfa/", {"code": codes[0]})
    assert response.status_code == 200 and b"not valid" in response.content


def test_role_policy_forces_enrolment(make_user):
    RolePolicy.objects.create(role="responder", require_mfa=True)
    make_user("resp", roles=["responder"], password=PASSWORD)
    client = Client()
    client.post("/login/", {"username": "resp", "password": PASSWORD})
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/account/mfa/enrol/"
    assert client.get("/account/mfa/enrol/").status_code == 200


def test_session_api_refused_until_required_mfa_is_enrolled(make_user):
    RolePolicy.objects.create(role="responder", require_mfa=True)
    client = Client()
    client.force_login(make_user("resp2", roles=["responder"]))
    assert client.get("/api/v1/me").status_code == 401
    RolePolicy.objects.filter(role="responder").update(require_mfa=False)
    assert client.get("/api/v1/me").status_code == 200


def test_a_guarded_post_returns_to_its_form_after_step_up(make_user):
    user, device, _ = _enrolled_admin(make_user)
    other = make_user("victim", roles=["viewer"])
    client = _sign_in(Client(), device)
    session = client.session
    session[mfa.SESSION_KEY] = time.time() - 3600
    session.save()
    page = f"/admin/users/{other.pk}/"
    response = client.post(f"{page}reset-mfa/", HTTP_REFERER=f"http://testserver{page}")
    assert response.status_code == 302
    assert response["Location"] == "/account/step-up/?next=" + page.replace("/", "%2F")
    foreign = client.post(f"{page}reset-mfa/", HTTP_REFERER="https://evil.example/x")
    assert foreign["Location"].endswith("next=" + f"{page}reset-mfa/".replace("/", "%2F"))


def test_replacing_the_authenticator_needs_the_current_one(make_user):
    user, device, _ = _enrolled_admin(make_user)
    client = Client()
    client.force_login(user)  # a borrowed session, no fresh code
    response = client.get("/account/mfa/enrol/")
    assert response.status_code == 302 and response["Location"].startswith("/account/step-up/")
    assert client.post("/account/mfa/enrol/", {"code": "123456"}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed
