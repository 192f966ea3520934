"""The on-call demo: eight schedules in four zones covering the layer kinds, idempotent, one gap."""

from django.core.management import call_command

from tocsin.core.models import AuditEntry
from tocsin.oncall import selectors
from tocsin.oncall.models import Layer, Override, Participant, Schedule, ShiftSwap


def snapshot():
    return (Schedule.objects.count(), Layer.objects.count(), Participant.objects.count(), Override.objects.count(),
            ShiftSwap.objects.count(), AuditEntry.objects.filter(action__startswith="oncall.").count())


def test_demo_on_call(db, capsys):
    call_command("demo", "--password", "demo-password-123")
    first = snapshot()
    call_command("demo", "--password", "demo-password-123")
    assert snapshot() == first
    output = capsys.readouterr().out
    assert output.count("On call: 8 schedules, 1 pending swap, 1 schedule with a gap") == 2

    assert {s.time_zone for s in Schedule.objects.all()} == {"Europe/Berlin", "America/Chicago", "Asia/Singapore", "UTC"}
    assert {layer.rotation for layer in Layer.objects.all()} == {"daily", "weekly", "custom"}
    restricted = Layer.objects.exclude(restrictions=[])
    assert restricted.count() == 2 and len({layer.schedule_id for layer in restricted}) == 1  # follow the sun
    assert Participant.objects.filter(role__slug="network-on-call").count() == 1
    assert Layer.objects.filter(shift_size=2).count() == 1
    assert Override.objects.count() >= 2
    swap = ShiftSwap.objects.get()
    assert swap.status == ShiftSwap.PENDING and swap.requester.user is not None and swap.counterpart.user is not None
    gaps = selectors.gaps_ahead()
    assert [Schedule.objects.get(pk=pk).name for pk in gaps] == ["Applications"]
    now_on = selectors.oncall_everywhere()
    assert len(now_on) == 8 and all(now_on.values())  # everybody has someone on call right now
    assert all(not selectors.vacancies(s) for s in Schedule.objects.all())
