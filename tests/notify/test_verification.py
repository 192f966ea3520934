"""Contact verification (B2, B7): a code sent by SMS to the Twilio stub, by e-mail to the SMTP sink
(with its one-click link) and read out by a call's TwiML, confirmed; wrong codes counted and the
fifth one ending the code; expired codes refused; a GET of the link never verifies; starts rate
limited; pages and API; every step audited and no audit entry holding the code."""

import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from twilio.request_validator import RequestValidator

from tocsin.core import audit
from tocsin.core.models import AuditEntry
from tocsin.directory import services as directory
from tocsin.directory.models import ContactMethod
from tocsin.notify import verification, views_verify
from tocsin.notify.models import MethodVerification

from .paging import create_local_providers, only_local_providers

SYSTEM = audit.Actor.system("test")
ANA_PHONE = "+14155550101"
CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture
def providers(db, smtp_sink, twilio_stub, settings, monkeypatch):
    only_local_providers(monkeypatch, settings)
    views_verify.link_posts.clear()
    create_local_providers(smtp_sink, twilio_stub)
    return smtp_sink, twilio_stub


@pytest.fixture
def ana(person, make_user, providers):
    someone = person("Ana", user=make_user("ana"))
    for kind, value in (("sms", ANA_PHONE), ("email", "ana@example.org"), ("voice", ANA_PHONE),
                        ("chat", "@ana")):
        directory.add_method(actor=SYSTEM, source="cli", person=someone, kind=kind, value=value)
    return someone


def method(person, kind):
    return ContactMethod.objects.get(person=person, kind=kind)


def sms_code(stub, n=1):
    stub.wait_for(n)
    return CODE.search(stub.messages[n - 1]["Body"]).group(1)


def mail_text(sink, n=1):
    sink.wait_for(n)
    return sink.messages[n - 1].get_body(("plain",)).get_content()


def actions(obj=None):
    rows = AuditEntry.objects.order_by("seq")
    if obj is not None:
        rows = rows.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
    return [e.action for e in rows]


def assert_code_nowhere_in_audit(code):
    for entry in AuditEntry.objects.all():
        assert code not in json.dumps(entry.summary), entry.action
        assert code not in entry.object_id


def test_a_code_sent_by_sms_reaches_the_stub_and_confirms_the_method(ana, providers):
    _, stub = providers
    sms = method(ana, "sms")
    now = timezone.now()
    sent = verification.start_verification(sms, actor=SYSTEM, now=now)
    assert sent.channel == "sms" and sent.provider == "twilio" and "***" in sent.destination
    stub.wait_for(1)
    assert stub.messages[0]["To"] == ANA_PHONE
    code = sms_code(stub)
    row = MethodVerification.objects.get(method=sms)
    assert row.digest == verification.digest(code, sms) and code not in row.digest
    assert row.expires_at == now + timedelta(minutes=15)

    verification.confirm_code(sms, code, actor=SYSTEM, now=now + timedelta(minutes=1))
    sms.refresh_from_db()
    assert sms.verified and sms.verified_at is not None
    assert actions(sms)[-2:] == ["contact.verification_started", "contact.method_verified"]
    confirmed = AuditEntry.objects.filter(action="contact.method_verified").latest("seq")
    assert confirmed.summary["how"] == "code"
    assert_code_nowhere_in_audit(code)
    with pytest.raises(verification.VerificationRefused, match="already been used"):
        verification.confirm_code(sms, code, actor=SYSTEM, now=now + timedelta(minutes=2))


def test_an_email_carries_the_code_and_a_link_whose_get_never_verifies(ana, providers):
    sink, _ = providers
    email = method(ana, "email")
    verification.start_verification(email, actor=SYSTEM, now=timezone.now())
    text = mail_text(sink)
    assert sink.envelopes[0].rcpt_tos == ["ana@example.org"]
    code = CODE.search(text).group(1)
    link = re.search(r"(http://testserver/notify/verify/\S+)", text).group(1)
    browser = Client(enforce_csrf_checks=True)
    for _ in range(3):  # a mail scanner opening the link, then the person
        page = browser.get(urlsplit(link).path)
        assert page.status_code == 200 and "Confirm a***@example.org" in page.content.decode()
        assert page["Referrer-Policy"] == "same-origin"
    email.refresh_from_db()
    assert not email.verified
    assert "contact.method_verified" not in actions(email)

    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    done = browser.post(urlsplit(link).path, {"csrfmiddlewaretoken": token})
    assert done.status_code == 200 and "now verified" in done.content.decode()
    email.refresh_from_db()
    assert email.verified
    assert AuditEntry.objects.filter(action="contact.method_verified").latest("seq").summary["how"] == "link"
    assert_code_nowhere_in_audit(code)
    again = browser.post(urlsplit(link).path, {"csrfmiddlewaretoken": token})
    assert again.status_code == 410


def test_a_forged_or_foreign_link_is_404_and_changes_nothing(ana, providers):
    email = method(ana, "email")
    verification.start_verification(email, actor=SYSTEM, now=timezone.now())
    row = MethodVerification.objects.get(method=email)
    call_ticket = verification.ticket(row.pk, "123456", verification.CALL).hex  # right shape, wrong purpose
    for token in ("0" * 32, "not-a-token", call_ticket):
        assert Client().get(f"/notify/verify/{token}").status_code == 404
        assert Client().post(f"/notify/verify/{token}").status_code == 404
    email.refresh_from_db()
    assert not email.verified
    assert MethodVerification.objects.get(pk=row.pk).tries == 0


def test_wrong_codes_are_counted_and_the_fifth_ends_the_code(ana, providers):
    _, stub = providers
    sms = method(ana, "sms")
    now = timezone.now()
    verification.start_verification(sms, actor=SYSTEM, now=now)
    code = sms_code(stub)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        with pytest.raises(verification.VerificationRefused, match=f"{left} tr") as refused:
            verification.confirm_code(sms, wrong, actor=SYSTEM, now=now)
        assert refused.value.status == 400
    with pytest.raises(verification.VerificationRefused, match="Too many wrong codes"):
        verification.confirm_code(sms, wrong, actor=SYSTEM, now=now)
    assert MethodVerification.objects.get(method=sms).tries == 5
    with pytest.raises(verification.VerificationRefused, match="Too many wrong codes"):
        verification.confirm_code(sms, code, actor=SYSTEM, now=now)  # the right one, too late
    sms.refresh_from_db()
    assert not sms.verified
    assert actions(sms).count("contact.verification_failed") == 5
    assert actions(sms).count("contact.verification_locked") == 1
    failed = AuditEntry.objects.filter(action="contact.verification_failed").order_by("seq")
    assert [e.summary["tries"] for e in failed] == [1, 2, 3, 4, 5]
    assert_code_nowhere_in_audit(code)
    assert_code_nowhere_in_audit(wrong)


def test_a_malformed_code_is_a_field_error_and_not_counted(ana, providers):
    from django.core.exceptions import ValidationError

    sms = method(ana, "sms")
    verification.start_verification(sms, actor=SYSTEM, now=timezone.now())
    for bad in ("", "12345", "1234567", "abcdef", "١٢٣٤٥٦"):
        with pytest.raises(ValidationError) as error:
            verification.confirm_code(sms, bad, actor=SYSTEM, now=timezone.now())
        assert "code" in error.value.message_dict
    assert MethodVerification.objects.get(method=sms).tries == 0


def test_an_expired_code_is_refused_and_not_counted(ana, providers):
    _, stub = providers
    sms = method(ana, "sms")
    now = timezone.now()
    verification.start_verification(sms, actor=SYSTEM, now=now)
    code = sms_code(stub)
    with pytest.raises(verification.VerificationRefused, match="expired"):
        verification.confirm_code(sms, code, actor=SYSTEM, now=now + timedelta(minutes=15))
    sms.refresh_from_db()
    assert not sms.verified
    assert MethodVerification.objects.get(method=sms).tries == 0


def test_a_new_code_replaces_the_one_waiting(ana, providers):
    _, stub = providers
    sms = method(ana, "sms")
    now = timezone.now()
    verification.start_verification(sms, actor=SYSTEM, now=now)
    first = sms_code(stub, 1)
    verification.start_verification(sms, actor=SYSTEM, now=now + timedelta(minutes=1))
    second = sms_code(stub, 2)
    if first != second:
        with pytest.raises(verification.VerificationRefused, match="wrong"):
            verification.confirm_code(sms, first, actor=SYSTEM, now=now + timedelta(minutes=2))
    verification.confirm_code(sms, second, actor=SYSTEM, now=now + timedelta(minutes=2))
    sms.refresh_from_db()
    assert sms.verified


def test_starts_are_limited_to_three_an_hour_per_method(ana, providers):
    _, stub = providers
    sms, email = method(ana, "sms"), method(ana, "email")
    now = timezone.now()
    for minute in range(3):
        verification.start_verification(sms, actor=SYSTEM, now=now + timedelta(minutes=minute))
    with pytest.raises(verification.TooManyStarts) as limited:
        verification.start_verification(sms, actor=SYSTEM, now=now + timedelta(minutes=10))
    assert 0 < limited.value.retry_after <= 3600 - 600 + 1
    stub.wait_for(3)
    assert len(stub.messages) == 3  # the refused start sent nothing
    verification.start_verification(email, actor=SYSTEM, now=now + timedelta(minutes=10))  # another method
    verification.start_verification(sms, actor=SYSTEM, now=now + timedelta(minutes=61))


def test_a_refused_send_leaves_no_usable_code_and_is_audited(ana, providers):
    sink, _ = providers
    email = method(ana, "email")
    sink.fail_next(550, "No such user here ana@example.org")
    with pytest.raises(verification.NotSent) as failed:
        verification.start_verification(email, actor=SYSTEM, now=timezone.now())
    assert "ana@example.org" not in str(failed.value)
    assert not verification.is_open(MethodVerification.objects.get(method=email), timezone.now())
    entry = AuditEntry.objects.filter(action="contact.verification_not_sent").get()
    assert "ana@example.org" not in json.dumps(entry.summary)


def test_a_method_without_a_code_channel_is_refused_by_name(ana, providers):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        verification.start_verification(method(ana, "chat"), actor=SYSTEM, now=timezone.now())
    assert "method" in refused.value.message_dict
    assert not MethodVerification.objects.exists()


def _signed_post(path, params, auth_token):
    signature = RequestValidator(auth_token).compute_signature(settings.BASE_URL + path, params)
    return Client().post(path, params, headers={"X-Twilio-Signature": signature})


def test_a_verification_call_reads_the_code_from_its_twiml(ana, providers):
    _, stub = providers
    voice = method(ana, "voice")
    verification.start_verification(voice, actor=SYSTEM, now=timezone.now())
    stub.wait_for(1, kind="calls")
    call = stub.calls[0]
    assert call["To"] == ANA_PHONE and "Body" not in call
    path = urlsplit(call["Url"]).path
    assert path.startswith("/notify/verify/voice/")
    _, code = verification.read_ticket(path.rsplit("/", 1)[1], verification.CALL)
    assert code not in call["Url"]
    params = {"CallSid": call["sid"], "CallStatus": "in-progress"}
    twiml = _signed_post(path, params, stub.auth_token)
    assert twiml.status_code == 200 and twiml["Content-Type"].startswith("text/xml")
    assert ", ".join(code) in twiml.content.decode()
    assert Client().post(path, params).status_code == 403  # unsigned: not Twilio
    verification.confirm_code(voice, code, actor=SYSTEM, now=timezone.now())
    voice.refresh_from_db()
    assert voice.verified
    used = _signed_post(path, params, stub.auth_token).content.decode()
    assert code not in used.replace(", ", "") and "no longer valid" in used


# --- pages and API ---------------------------------------------------------------------------------


@pytest.fixture
def page_of():
    def path(m):
        return f"/notify/verify/method/{m.pk}/"
    return path


def test_the_person_sends_and_enters_a_code_on_the_page(ana, providers, page_of):
    _, stub = providers
    sms = method(ana, "sms")
    client = Client()
    client.force_login(ana.user)
    page = client.get(page_of(sms))
    assert page.status_code == 200 and "Send a code" in page.content.decode()
    assert "Enter the code" not in page.content.decode()
    sent = client.post(page_of(sms), {"action": "send"})
    assert sent.status_code == 302
    code = sms_code(stub)
    page = client.get(page_of(sms))
    assert "Enter the code" in page.content.decode() and "on its way to +1 *** *** 01" in page.content.decode()
    wrong = client.post(page_of(sms), {"action": "confirm", "code": f"{(int(code) + 1) % 1_000_000:06d}"})
    assert wrong.status_code == 400 and "4 tries left" in wrong.content.decode()
    assert client.post(page_of(sms), {"action": "confirm", "code": "12"}).status_code == 400
    done = client.post(page_of(sms), {"action": "confirm", "code": code})
    assert done.status_code == 302
    sms.refresh_from_db()
    assert sms.verified


def test_someone_else_without_write_access_gets_403_and_nothing_is_sent(ana, providers, page_of, make_user):
    _, stub = providers
    sms = method(ana, "sms")
    client = Client()
    client.force_login(make_user("pat", roles=["viewer"]))
    assert client.get(page_of(sms)).status_code == 403
    assert client.post(page_of(sms), {"action": "send"}).status_code == 403
    assert not MethodVerification.objects.exists() and not stub.messages
    assert AuditEntry.objects.filter(action="permission.denied").exists()
    admin = Client()
    admin.force_login(make_user("root", roles=["admin"]))
    assert admin.get(page_of(sms)).status_code == 200


def test_the_api_starts_and_confirms(ana, providers, bearer, make_user):
    _, stub = providers
    sms = method(ana, "sms")
    api = bearer(ana.user)
    base = f"/api/v1/contact-methods/{sms.pk}/verification"
    started = api.post(base, content_type="application/json")
    assert started.status_code == 202, started.content
    assert started.json()["channel"] == "sms" and started.json()["destination"] == "+1 *** *** 01"
    code = sms_code(stub)
    wrong = api.post(f"{base}/confirm", {"code": f"{(int(code) + 1) % 1_000_000:06d}"},
                     content_type="application/json")
    assert wrong.status_code == 400 and "4 tries left" in wrong.json()["detail"]
    malformed = api.post(f"{base}/confirm", {"code": "abc"}, content_type="application/json")
    assert malformed.status_code == 400 and "code" in malformed.json()["errors"]
    done = api.post(f"{base}/confirm", {"code": code}, content_type="application/json")
    assert done.status_code == 200 and done.json()["verified"] is True

    stranger = bearer(make_user("pat", roles=["viewer"]))
    assert stranger.post(base, content_type="application/json").status_code == 403
    chat = method(ana, "chat")
    refused = api.post(f"/api/v1/contact-methods/{chat.pk}/verification", content_type="application/json")
    assert refused.status_code == 400 and "method" in refused.json()["errors"]
    assert api.post("/api/v1/contact-methods/999999/verification").status_code == 404


def test_the_api_answers_429_with_retry_after_past_the_limit(ana, providers, bearer):
    sms = method(ana, "sms")
    api = bearer(ana.user)
    base = f"/api/v1/contact-methods/{sms.pk}/verification"
    for _ in range(3):
        assert api.post(base).status_code == 202
    limited = api.post(base)
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert "3 codes an hour" in limited.json()["detail"]
    nothing = api.post(f"/api/v1/contact-methods/{method(ana, 'email').pk}/verification/confirm", {"code": "123456"},
                       content_type="application/json")
    assert nothing.status_code == 404


def test_a_code_sent_to_a_number_since_changed_verifies_nothing(ana, providers):
    _, stub = providers
    sms = method(ana, "sms")
    now = timezone.now()
    verification.start_verification(sms, actor=SYSTEM, now=now)
    stub.wait_for(1)
    code = sms_code(stub)
    directory.update_method(sms, actor=SYSTEM, value="+4915199999999")
    with pytest.raises(verification.VerificationRefused):
        verification.confirm_code(sms, code, actor=SYSTEM, now=now + timedelta(minutes=1))
    sms.refresh_from_db()
    assert not sms.verified
