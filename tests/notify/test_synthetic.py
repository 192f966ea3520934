"""Synthetic delivery checks (F10) against the real local servers: an e-mail check passing on the
sink's 250 and failing on its 550 (audited once per change), a Twilio SMS check passed by the
delivered status of the sid the stub returned or failed at its deadline, run by the engine's
periodic job; the admin page and the failing gauge."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tocsin.core import audit, metrics
from tocsin.core.models import AuditEntry
from tocsin.directory import services as directory
from tocsin.engine import queue, runner
from tocsin.engine.models import Job
from tocsin.notify import jobs_synthetic, synthetic
from tocsin.notify.models import SyntheticCheck, SyntheticRun

from .paging import create_local_providers, only_local_providers

SYSTEM = audit.Actor.system("test")
PROBE_PHONE = "+14155550142"


@pytest.fixture
def providers(db, smtp_sink, twilio_stub, settings, monkeypatch):
    only_local_providers(monkeypatch, settings)
    made = create_local_providers(smtp_sink, twilio_stub)
    return {**made, "sink": smtp_sink, "stub": twilio_stub}


@pytest.fixture
def probe(person):
    """The designated test contact: a person with a test mailbox and a test phone."""
    someone = person("Probe")
    mail = directory.add_method(actor=SYSTEM, source="cli", person=someone, kind="email", value="probe@example.org")
    sms = directory.add_method(actor=SYSTEM, source="cli", person=someone, kind="sms", value=PROBE_PHONE)
    return {"email": mail, "sms": sms}


def audited(action):
    return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def run_engine(now, kinds, worker="synthetic-tests"):
    """Run the jobs of `kinds` due at `now`, as the engine does; other jobs are left alone."""
    for _ in range(5):
        jobs = runner.claim(worker, now, timedelta(minutes=1), 100)
        mine = [job for job in jobs if job.kind in kinds]
        runner.release([job for job in jobs if job not in mine], worker)
        if not mine:
            return
        runner.run_claimed(mine, worker, now)


def test_a_passing_email_check_is_delivered_to_the_sink(providers, probe):
    check = synthetic.add_check(actor=SYSTEM, name="Mail path", channel="email", method=probe["email"],
                                interval_minutes=60)
    now = timezone.now()
    runs = synthetic.run_due(now)
    assert len(runs) == 1
    run = runs[0]
    assert run.status == SyntheticRun.PASSED and run.provider == "mail" and run.finished_at == now
    assert run.provider_message_id and run.latency_ms is not None
    providers["sink"].wait_for(1)
    assert providers["sink"].envelopes[0].rcpt_tos == ["probe@example.org"]
    assert "Mail path" in providers["sink"].messages[0]["Subject"]
    check.refresh_from_db()
    assert not check.failing and check.last_run_at == now
    assert synthetic.run_due(now + timedelta(minutes=59)) == []  # not due yet
    assert len(synthetic.run_due(now + timedelta(minutes=60))) == 1
    assert not audited("notify.synthetic_failing")


def test_a_refused_email_fails_the_check_and_is_audited_once_per_change(providers, probe):
    check = synthetic.add_check(actor=SYSTEM, name="Mail path", channel="email", method=probe["email"],
                                interval_minutes=1, provider=providers["mail"])
    sink, now = providers["sink"], timezone.now()
    sink.fail_next(550, "Mailbox unavailable", stage="RCPT")
    first = synthetic.run_due(now)[0]
    assert first.status == SyntheticRun.FAILED and "550" in first.error
    check.refresh_from_db()
    assert check.failing
    sink.fail_next(550, "Mailbox unavailable", stage="RCPT")
    assert synthetic.run_due(now + timedelta(minutes=1))[0].status == SyntheticRun.FAILED
    assert len(audited("notify.synthetic_failing")) == 1  # still failing: no second entry
    entry = audited("notify.synthetic_failing")[0]
    assert entry.summary["check"] == "Mail path" and "probe@example.org" not in json.dumps(entry.summary)

    assert synthetic.run_due(now + timedelta(minutes=2))[0].status == SyntheticRun.PASSED
    check.refresh_from_db()
    assert not check.failing
    assert len(audited("notify.synthetic_recovered")) == 1


def test_a_twilio_check_is_passed_by_the_delivered_status_of_its_sid(providers, probe):
    stub = providers["stub"]
    check = synthetic.add_check(actor=SYSTEM, name="SMS path", channel="sms", method=probe["sms"],
                                deadline_seconds=120)
    now = timezone.now()
    run = synthetic.run_due(now)[0]
    stub.wait_for(1)
    sid = stub.messages[0]["sid"]
    assert stub.messages[0]["To"] == PROBE_PHONE and stub.messages[0]["StatusCallback"].endswith(
        "/notify/twilio/status")
    assert run.status == SyntheticRun.PENDING and run.provider == "twilio" and run.provider_message_id == sid
    assert Job.objects.filter(kind=synthetic.DEADLINE_JOB, state=Job.PENDING,
                              due_at=now + timedelta(seconds=120)).count() == 1
    assert not synthetic.provider_status(sid, "sent")  # on the way: nothing settled
    assert not synthetic.provider_status("SM" + "0" * 32, "delivered")  # not ours
    assert synthetic.provider_status(sid, "delivered", at=now + timedelta(seconds=3))
    run.refresh_from_db()
    assert run.status == SyntheticRun.PASSED and run.latency_ms == 3000
    run_engine(now + timedelta(seconds=120), {synthetic.DEADLINE_JOB})  # the deadline finds it settled
    run.refresh_from_db()
    assert run.status == SyntheticRun.PASSED
    check.refresh_from_db()
    assert not check.failing


def test_a_twilio_check_not_delivered_by_its_deadline_fails(providers, probe):
    check = synthetic.add_check(actor=SYSTEM, name="SMS path", channel="sms", method=probe["sms"],
                                deadline_seconds=60)
    now = timezone.now()
    run = synthetic.run_due(now)[0]
    run_engine(now + timedelta(seconds=59), {synthetic.DEADLINE_JOB})
    run.refresh_from_db()
    assert run.status == SyntheticRun.PENDING  # never early
    run_engine(now + timedelta(seconds=60), {synthetic.DEADLINE_JOB})
    run.refresh_from_db()
    assert run.status == SyntheticRun.FAILED and "within 60 s" in run.error
    check.refresh_from_db()
    assert check.failing
    assert not synthetic.provider_status(run.provider_message_id, "delivered")  # too late: stays failed
    run.refresh_from_db()
    assert run.status == SyntheticRun.FAILED


def test_a_twilio_refusal_fails_at_once(providers, probe):
    synthetic.add_check(actor=SYSTEM, name="SMS path", channel="sms", method=probe["sms"])
    providers["stub"].fail_next(400)
    run = synthetic.run_due(timezone.now())[0]
    assert run.status == SyntheticRun.FAILED and "21211" in run.error and PROBE_PHONE not in run.error


def test_the_periodic_job_runs_the_due_checks_once(providers, probe):
    jobs_synthetic.register()
    synthetic.add_check(actor=SYSTEM, name="Mail path", channel="email", method=probe["email"])
    synthetic.add_check(actor=SYSTEM, name="Off", channel="email", method=probe["email"])
    SyntheticCheck.objects.filter(name="Off").update(enabled=False)
    now = timezone.now()
    queue.schedule(jobs_synthetic.RUN_JOB, due_at=now, key=runner.periodic_key(jobs_synthetic.RUN_JOB))
    run_engine(now, {jobs_synthetic.RUN_JOB})
    assert SyntheticRun.objects.filter(synthetic__name="Mail path", status=SyntheticRun.PASSED).count() == 1
    assert not SyntheticRun.objects.filter(synthetic__name="Off").exists()
    # Its next period is scheduled a minute later, and finds nothing due.
    assert Job.objects.filter(kind=jobs_synthetic.RUN_JOB, state=Job.PENDING,
                              due_at=now + timedelta(minutes=1)).exists()
    run_engine(now + timedelta(minutes=1), {jobs_synthetic.RUN_JOB})
    assert SyntheticRun.objects.count() == 1
    providers["sink"].wait_for(1)
    assert len(providers["sink"].messages) == 1


def test_the_failing_gauge(providers, probe):
    jobs_synthetic.register()
    jobs_synthetic.register()
    assert sum(isinstance(c, synthetic.SyntheticCollector) for c in metrics._collectors) == 1
    synthetic.add_check(actor=SYSTEM, name="Mail path", channel="email", method=probe["email"])
    providers["sink"].fail_next(550, stage="RCPT")
    synthetic.run_due(timezone.now())
    text = metrics.exposition().decode()
    assert 'tocsin_synthetic_check_failing{channel="email",check="Mail path"} 1.0' in text


@pytest.fixture
def admin(make_user):
    client = Client()
    client.force_login(make_user("root", roles=["admin"]))
    return client


def test_the_admin_page_lists_adds_and_shows_runs(providers, probe, admin, make_user):
    form = {"name": "SMS path", "channel": "sms", "provider": providers["twilio"].pk, "method": probe["sms"].pk,
            "interval_minutes": 5, "deadline_seconds": 90}
    assert admin.post("/notify/synthetic/", form).status_code == 302
    check = SyntheticCheck.objects.get(name="SMS path")
    assert (check.channel, check.provider, check.interval_minutes, check.deadline_seconds) == (
        "sms", providers["twilio"], 5, 90)
    assert audited("notify.synthetic_check_added")[0].summary["name"] == "SMS path"
    synthetic.run_due(timezone.now())
    html = admin.get("/notify/synthetic/").content.decode()
    assert 'data-check="SMS path"' in html and "+1 *** *** 42" in html and PROBE_PHONE not in html
    assert 'id="synthetic-runs"' in html and "Pending" in html

    wrong = admin.post("/notify/synthetic/", {**form, "name": "Mail via SMS", "method": probe["email"].pk})
    assert wrong.status_code == 400 and "does not take sms" in wrong.content.decode()
    missing = admin.post("/notify/synthetic/", {**form, "name": "Nobody", "method": 999999})
    assert missing.status_code == 400 and "No contact method has this id" in missing.content.decode()
    assert SyntheticCheck.objects.count() == 1

    assert admin.post(f"/notify/synthetic/{check.pk}/toggle/").status_code == 302
    check.refresh_from_db()
    assert not check.enabled
    viewer = Client()
    viewer.force_login(make_user("pat", roles=["viewer"]))
    assert viewer.get("/notify/synthetic/").status_code == 403
    assert viewer.post("/notify/synthetic/", {**form, "name": "Sneaky"}).status_code == 403
    assert SyntheticCheck.objects.count() == 1


def test_a_voice_check_calls_with_twiml_of_its_own_and_passes_when_the_call_completes(providers, probe, settings):
    from twilio.request_validator import RequestValidator
    from urllib.parse import urlsplit

    stub = providers["stub"]
    voice = directory.add_method(actor=SYSTEM, source="cli", person=probe["sms"].person, kind="voice",
                                 value=PROBE_PHONE)
    synthetic.add_check(actor=SYSTEM, name="Voice path", channel="voice", method=voice)
    run = synthetic.run_due(timezone.now())[0]
    stub.wait_for(1, kind="calls")
    call = stub.calls[0]
    assert run.status == SyntheticRun.PENDING and run.provider_message_id == call["sid"]
    path = urlsplit(call["Url"]).path
    assert path == f"/notify/synthetic/voice/{run.pk}"
    params = {"CallSid": call["sid"], "CallStatus": "in-progress"}
    signature = RequestValidator(stub.auth_token).compute_signature(settings.BASE_URL + path, params)
    twiml = Client().post(path, params, headers={"X-Twilio-Signature": signature})
    assert twiml.status_code == 200 and "synthetic check 'Voice path'" in twiml.content.decode()
    assert Client().post(path, params).status_code == 403
    assert synthetic.provider_status(call["sid"], "completed")
    run.refresh_from_db()
    assert run.status == SyntheticRun.PASSED
