"""Gaps ahead in `tocsin check`, the announcer's exactly-once events, and offboarding flags."""

from datetime import UTC, date, datetime, time, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from tocsin.core.models import AuditEntry
from tocsin.directory import services as directory
from tocsin.oncall import services, signals
from tocsin.oncall.announcer import announce
from tocsin.oncall.models import Announcement, Schedule

from .conftest import SYSTEM


def at(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def heard():
    """Every on-call event sent, as (signal name, kwargs)."""
    events = []
    receivers = {}
    for name in ("shift_started", "handoff", "gap_found"):
        def receiver(sender, _name=name, **kwargs):
            kwargs.pop("signal", None)
            events.append((_name, kwargs))

        receivers[name] = receiver
        getattr(signals, name).connect(receiver)
    yield events
    for name, receiver in receivers.items():
        getattr(signals, name).disconnect(receiver)


@pytest.fixture
def created_early():
    def move(schedule):
        Schedule.objects.filter(pk=schedule.pk).update(created_at=at(2025, 12, 1))
        schedule.refresh_from_db()
        return schedule

    return move


def check_output():
    out = StringIO()
    call_command("config_check", stdout=out)
    return out.getvalue()


def test_tocsin_check_warns_of_gaps_ahead_and_vacancies(schedule, layer, person):
    ana, ben = person("Ana"), person("Ben")
    covered = schedule("Covered", time_zone="UTC")
    layer(covered, [ana], rotation="weekly", start_date=date(2020, 1, 6))
    assert "oncall: every schedule has someone on call for the next 14 days" in check_output()

    today = timezone.now().date()
    holey = schedule("Holey", time_zone="Europe/Berlin")
    layer(holey, [ben], rotation="weekly", handoff_time=time(9), start_date=date(2020, 1, 6),
          end_date=today + timedelta(days=3))
    directory.deactivate_person(ana, actor=SYSTEM)
    output = check_output()
    assert "WARN  schedule 'Holey' has nobody on call from " in output
    line = next(x for x in output.splitlines() if "'Holey'" in x)
    assert f"{today + timedelta(days=3):%Y-%m-%d} 09:00 CE" in line and line.endswith("or later (1 gap in the next 14 days)")
    assert "WARN  schedule 'Covered' has nobody on call from" in output  # Ana was its only participant
    assert "WARN  schedule 'Covered' has a vacancy: Layer 1: Ana is deactivated" in output


def test_shift_start_and_handoff_are_announced_once(schedule, layer, person, heard, created_early,
                                                    django_capture_on_commit_callbacks):
    ana, ben = person("Ana"), person("Ben")
    sched = created_early(schedule(time_zone="UTC"))
    layer(sched, [ana, ben], rotation="daily", handoff_time=time(9), start_date=date(2026, 1, 5))
    with django_capture_on_commit_callbacks(execute=True):
        assert announce(at(2026, 1, 6, 8, 59)) == 0  # Ana's shift began yesterday, before the first look
    with django_capture_on_commit_callbacks(execute=True):
        assert announce(at(2026, 1, 6, 9, 0, 30)) == 2
    assert [name for name, _ in heard] == ["shift_started", "handoff"]
    started, handoff = heard[0][1], heard[1][1]
    assert started["person"] == ben and started["start"] == at(2026, 1, 6, 9) and started["end"] == at(2026, 1, 7, 9)
    assert started["schedule"] == sched and started["assignment"].source == "layer"
    assert handoff == {"schedule": sched, "previous": [ana], "person": ben, "at": at(2026, 1, 6, 9)}

    # The same minute again (a second process), the next minute, and a restart that lost its
    # cursor: nothing is sent twice.
    with django_capture_on_commit_callbacks(execute=True):
        assert announce(at(2026, 1, 6, 9, 0, 30)) == 0
        assert announce(at(2026, 1, 6, 9, 1, 30)) == 0
        Announcement.objects.filter(kind=Announcement.CHECKED).delete()
        assert announce(at(2026, 1, 6, 9, 2)) == 0
    assert len(heard) == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert announce(at(2026, 1, 7, 9, 0, 5)) == 2
    assert [(name, kw.get("person")) for name, kw in heard[2:]] == [("shift_started", ana), ("handoff", ana)]


def test_nothing_is_sent_when_the_transaction_does_not_commit(schedule, layer, person, heard, created_early,
                                                              django_capture_on_commit_callbacks):
    sched = created_early(schedule(time_zone="UTC"))
    layer(sched, [person("Ana"), person("Ben")], rotation="daily", handoff_time=time(9), start_date=date(2026, 1, 5))
    with django_capture_on_commit_callbacks(execute=False) as pending:
        assert announce(at(2026, 1, 6, 9, 0, 30)) == 2
    assert heard == [] and len(pending) == 1  # the sends wait for the commit
    assert Announcement.objects.exclude(kind=Announcement.CHECKED).count() == 2


def test_a_new_gap_is_announced_once_while_it_stays_open(schedule, layer, person, heard, created_early,
                                                         django_capture_on_commit_callbacks):
    sched = created_early(schedule(time_zone="UTC"))
    rotation = layer(sched, [person("Ana")], rotation="daily", handoff_time=time(9), start_date=date(2026, 1, 5))
    start = at(2026, 2, 2, 12)
    with django_capture_on_commit_callbacks(execute=True):
        assert announce(start) == 0
        services.update_layer(rotation, actor=SYSTEM, end_date=date(2026, 2, 10))
        assert announce(start + timedelta(minutes=1)) == 1
        assert announce(start + timedelta(minutes=2)) == 0
    assert heard == [("gap_found", {"schedule": sched, "start": at(2026, 2, 10, 9), "end": start + timedelta(days=14, minutes=1)})]
    # The gap has begun and stays open past the first look-ahead: it is not news again.
    with django_capture_on_commit_callbacks(execute=True):
        assert announce(at(2026, 2, 12)) == 0
        assert announce(at(2026, 2, 25)) == 0
        assert announce(at(2026, 3, 5)) == 0
    # Taking the only layer away makes a gap that is open at once: that is news.
    with django_capture_on_commit_callbacks(execute=True):
        other = created_early(schedule("Other", time_zone="UTC"))
        only = layer(other, [person("Ben")], rotation="daily", handoff_time=time(9), start_date=date(2026, 1, 5))
        assert announce(at(2026, 3, 5, 0, 1)) == 0
        services.remove_layer(only, actor=SYSTEM)
        assert announce(at(2026, 3, 5, 0, 2)) == 1
    assert heard[-1][0] == "gap_found" and heard[-1][1]["schedule"] == other
    assert heard[-1][1]["start"] == at(2026, 3, 5, 0, 1)


def test_deactivating_a_participant_flags_their_schedules(schedule, layer, person, django_capture_on_commit_callbacks):
    ana, ben, chen = person("Ana"), person("Ben"), person("Chen")
    role = directory.create_role(actor=SYSTEM, name="DBA on-call")
    directory.assign_holder(role, chen, actor=SYSTEM, starts_at=at(2025, 1, 1))
    rota = schedule("Rota", time_zone="UTC")
    layer(rota, [ana, ben], rotation="weekly")
    covering = schedule("Covering", time_zone="UTC")
    layer(covering, [ben], rotation="weekly")
    services.add_override(covering, actor=SYSTEM, person=ana, starts_at=timezone.now() + timedelta(days=3),
                          ends_at=timezone.now() + timedelta(days=4))
    dba = schedule("DBA", time_zone="UTC")
    layer(dba, [role, ben], rotation="weekly")
    unrelated = schedule("Unrelated", time_zone="UTC")
    layer(unrelated, [ben], rotation="weekly")

    with django_capture_on_commit_callbacks(execute=True):
        directory.deactivate_person(ana, actor=SYSTEM)
        directory.deactivate_person(chen, actor=SYSTEM)
    flagged = AuditEntry.objects.filter(action="oncall.schedule.flagged").order_by("seq")
    assert {(e.object_id, e.summary["person"]) for e in flagged} == {
        (str(rota.pk), ana.pk), (str(covering.pk), ana.pk), (str(dba.pk), chen.pk)}
    assert all(e.actor_type == "system" and e.actor_label == "oncall" for e in flagged)
    reasons = {e.object_id: e.summary["reasons"] for e in flagged}
    assert reasons[str(rota.pk)] == ["Ana is a participant of layer 'Layer 1' and was deactivated"]
    assert "holds override" in reasons[str(covering.pk)][0]
    assert reasons[str(dba.pk)] == ["Chen held role 'DBA on-call' (layer 'Layer 1') and was deactivated"]
    from tocsin.oncall import selectors

    assert selectors.vacancies(rota) == ["Layer 1: Ana is deactivated"]
    assert selectors.vacancies(dba) == ["Layer 1: role DBA on-call has no active holder"]


def test_the_engine_runs_the_announcer_every_minute(db, schedule, layer, person):
    from tocsin.engine.models import Job
    from tocsin.engine.runner import ensure_periodic
    from tocsin.engine.worker import Engine

    sched = schedule(time_zone="UTC")
    layer(sched, [person("Ana")], rotation="daily", start_date=date(2026, 1, 5))
    ensure_periodic(timezone.now())
    Engine(name="test").run_due()
    assert Announcement.objects.get(kind=Announcement.CHECKED).schedule == sched
    assert Job.objects.get(kind="oncall.announce", state=Job.PENDING).due_at > timezone.now()


def test_a_gap_first_seen_at_the_edge_of_the_look_ahead_is_not_news_when_it_begins(
        schedule, layer, person, heard, created_early, django_capture_on_commit_callbacks):
    sched = created_early(schedule(time_zone="UTC"))
    layer(sched, [person("Ana")], rotation="daily", handoff_time=time(9), start_date=date(2026, 1, 5),
          end_date=date(2026, 2, 16))
    first = at(2026, 2, 2, 9, 5)  # the gap starts at 2026-02-16 09:00, just inside the look-ahead
    with django_capture_on_commit_callbacks(execute=True):
        assert announce(first) == 1
        assert announce(at(2026, 2, 16, 9, 10)) == 0  # begun; the look-ahead of this run still saw its start
        assert announce(at(2026, 2, 16, 9, 11)) == 0  # open since before this run's window
    assert [kw["start"] for _, kw in heard] == [at(2026, 2, 16, 9)]
