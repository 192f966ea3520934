"""On-call reminders: the on-call events (sent as the announcer and the swap service send them)
reach the people concerned once, through the first usable step of their low-urgency chain, at the
real SMTP sink and Twilio stub, however often the event or its job comes round."""

from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.utils import timezone

from tocsin.core import audit
from tocsin.directory import services as directory
from tocsin.engine import queue, runner
from tocsin.engine.models import Job
from tocsin.notify import reminders
from tocsin.notify.models import NotificationRule
from tocsin.oncall import signals
from tocsin.oncall.models import Schedule, ShiftSwap

from .paging import create_local_providers, only_local_providers

SYSTEM = audit.Actor.system("test")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=dt_timezone.utc)
BEN_PHONE = "+14155550102"


@pytest.fixture
def providers(db, smtp_sink, twilio_stub, settings, monkeypatch):
    only_local_providers(monkeypatch, settings)
    create_local_providers(smtp_sink, twilio_stub)
    reminders.connect()
    return smtp_sink, twilio_stub


@pytest.fixture
def team_scene(providers, make_team, person):
    team = make_team("Platform")
    schedule = Schedule.objects.create(name="Primary", slug="primary", team=team, time_zone="Europe/Berlin")
    ana = person("Ana", teams=[team])  # e-mail first in her low-urgency chain
    directory.add_method(actor=SYSTEM, source="cli", person=ana, kind="sms", value="+14155550101")
    directory.add_method(actor=SYSTEM, source="cli", person=ana, kind="email", value="ana@example.org")
    ben = person("Ben", teams=[team])  # SMS only
    ben_sms = directory.add_method(actor=SYSTEM, source="cli", person=ben, kind="sms", value=BEN_PHONE)
    outsider = person("Olga")
    directory.add_method(actor=SYSTEM, source="cli", person=outsider, kind="email", value="olga@example.org")
    return {"schedule": schedule, "ana": ana, "ben": ben, "ben_sms": ben_sms, "outsider": outsider}


def run_reminders(now=None, worker="reminder-tests"):
    now = now or timezone.now()
    for _ in range(5):
        jobs = runner.claim(worker, now, timedelta(minutes=1), 100)
        mine = [job for job in jobs if job.kind == reminders.REMIND_JOB]
        runner.release([job for job in jobs if job not in mine], worker)
        if not mine:
            return
        runner.run_claimed(mine, worker, now)


def shift_started(scene, person):
    signals.shift_started.send_robust(Schedule, schedule=scene["schedule"], person=person, start=NOW,
                                      end=NOW + timedelta(hours=8), assignment=None)


def test_a_shift_start_reminds_the_person_once_by_their_first_low_urgency_step(team_scene, providers):
    sink, stub = providers
    shift_started(team_scene, team_scene["ana"])
    shift_started(team_scene, team_scene["ana"])  # the same event twice: one job
    assert Job.objects.filter(kind=reminders.REMIND_JOB).count() == 1
    run_reminders()
    run_reminders()
    sink.wait_for(1)
    assert [e.rcpt_tos for e in sink.envelopes] == [["ana@example.org"]]
    message = sink.messages[0]
    assert message["Subject"] == "Tocsin: your on-call shift on Primary has started"
    text = message.get_body(("plain",)).get_content()
    assert "Mon 02 Mar 10:00 CET to Mon 02 Mar 18:00 CET" in text  # the schedule's own zone
    assert "@" not in text and "+1415" not in text  # no contact data
    assert not stub.messages  # only the first step

    shift_started(team_scene, team_scene["ana"])  # after it was sent: nothing more
    queue.schedule(reminders.REMIND_JOB, due_at=NOW, key=Job.objects.get(kind=reminders.REMIND_JOB).key,
                   payload={"kind": reminders.SHIFT, "schedule": team_scene["schedule"].pk,
                            "start": NOW.isoformat(), "end": NOW.isoformat(), "person": team_scene["ana"].pk})
    run_reminders()  # a second job of the same key finds it sent
    assert len(sink.messages) == 1
    assert Job.objects.filter(kind=reminders.REMIND_JOB, state=Job.DONE).count() == 2


def test_a_gap_reminds_every_member_of_the_schedules_team_once(team_scene, providers):
    sink, stub = providers
    for _ in range(2):
        signals.gap_found.send_robust(Schedule, schedule=team_scene["schedule"], start=NOW + timedelta(days=1),
                                      end=NOW + timedelta(days=1, hours=4))
    run_reminders()
    run_reminders()
    sink.wait_for(1)
    stub.wait_for(1)
    assert [e.rcpt_tos for e in sink.envelopes] == [["ana@example.org"]]  # not Olga, outside the team
    assert [m["To"] for m in stub.messages] == [BEN_PHONE]
    assert stub.messages[0]["Body"] == ("Tocsin: nobody is on call for Primary from Tue 03 Mar 10:00 CET "
                                        "to Tue 03 Mar 14:00 CET. Please arrange cover.")


def test_a_handoff_reminds_both_sides(team_scene, providers):
    sink, stub = providers
    signals.handoff.send_robust(Schedule, schedule=team_scene["schedule"], previous=[team_scene["ana"]],
                                person=team_scene["ben"], at=NOW)
    run_reminders()
    sink.wait_for(1)
    stub.wait_for(1)
    assert "no longer on call" in sink.messages[0].get_body(("plain",)).get_content()
    assert "handed to you" in stub.messages[0]["Body"] and stub.messages[0]["To"] == BEN_PHONE


def test_a_swap_request_reminds_the_counterpart(team_scene, providers):
    _, stub = providers
    swap = ShiftSwap.objects.create(schedule=team_scene["schedule"], requester=team_scene["ana"],
                                    counterpart=team_scene["ben"], starts_at=NOW + timedelta(days=2),
                                    ends_at=NOW + timedelta(days=3))
    signals.swap_requested.send(Schedule, swap=swap)
    run_reminders()
    stub.wait_for(1)
    assert stub.messages[0]["To"] == BEN_PHONE
    assert stub.messages[0]["Body"].startswith("Tocsin: Ana asks you to take their on-call shift on Primary")


def test_the_persons_own_low_urgency_rules_decide_the_step(team_scene, providers):
    sink, stub = providers
    NotificationRule.objects.create(person=team_scene["ana"], urgency="low", position=0, delay_minutes=0,
                                    method=team_scene["ana"].methods.get(kind="sms"))
    shift_started(team_scene, team_scene["ana"])
    run_reminders()
    stub.wait_for(1)
    assert stub.messages[0]["To"] == "+14155550101" and not sink.messages


def test_nobody_reachable_sends_nothing_and_a_failed_send_is_retried(team_scene, providers):
    sink, _ = providers
    directory.update_method(team_scene["ben_sms"], actor=SYSTEM, source="cli", is_active=False)
    shift_started(team_scene, team_scene["ben"])
    run_reminders()
    assert Job.objects.get(kind=reminders.REMIND_JOB).state == Job.DONE

    sink.fail_next(451, "Try later", stage="RCPT")
    shift_started(team_scene, team_scene["ana"])
    run_reminders()
    job = Job.objects.filter(kind=reminders.REMIND_JOB).latest("pk")
    assert job.state == Job.PENDING and "451" in job.last_error and "ana@example.org" not in job.last_error
    run_reminders(job.due_at)
    sink.wait_for(1)
    assert len(sink.messages) == 1
