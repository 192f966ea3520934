"""D1: rotations, layers, restrictions, overrides, swaps and delegations compose into one
final timeline, with provenance, and the point query always agrees with it."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError

from tocsin.directory import services as directory
from tocsin.oncall import selectors, services

from .conftest import SYSTEM


def at(*args):
    return datetime(*args, tzinfo=UTC)


def names(entries):
    return [e.person.name for e in entries]


def test_weekly_rotation_hands_off_at_local_time(schedule, layer, person):
    ana, ben = person("Ana"), person("Ben")
    sched = schedule(time_zone="Europe/Berlin")
    layer(sched, [ana, ben], rotation="weekly", handoff_time=time(9), start_date=date(2026, 3, 23))
    # Berlin is UTC+1 until 29 March, UTC+2 after: the 09:00 handoff moves in UTC.
    assert names(selectors.oncall_at(sched, at(2026, 3, 30, 6, 59))) == ["Ana"]
    assert names(selectors.oncall_at(sched, at(2026, 3, 30, 7, 0))) == ["Ben"]
    found, gaps = selectors.shifts(sched, at(2026, 3, 23, 8), at(2026, 4, 6, 7))
    assert [(s.start, s.end) for s in found] == [
        (at(2026, 3, 23, 8), at(2026, 3, 30, 7)),  # spans the change: 167 hours
        (at(2026, 3, 30, 7), at(2026, 4, 6, 7)),
    ]
    assert found[0].end - found[0].start == timedelta(hours=167)
    assert not gaps


def test_higher_layer_wins_where_it_has_a_shift(schedule, layer, person):
    ana, ben, chen = person("Ana"), person("Ben"), person("Chen")
    sched = schedule(time_zone="UTC")
    layer(sched, [ana], rotation="daily", handoff_time=time(0))
    layer(sched, [ben, chen], rotation="daily", handoff_time=time(0),
          restrictions=[{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}])
    monday = at(2026, 1, 5)
    assert names(selectors.oncall_at(sched, monday + timedelta(hours=8))) == ["Ana"]
    entry = selectors.oncall_at(sched, monday + timedelta(hours=10))[0]
    assert entry.person.name == "Ben" and entry.assignment.layer_id == sched.layers.get(level=2).pk
    assert names(selectors.oncall_at(sched, monday + timedelta(days=1, hours=10))) == ["Chen"]
    assert names(selectors.oncall_at(sched, monday + timedelta(days=5, hours=10))) == ["Ana"]  # Saturday


def test_shift_size_puts_several_on_call(schedule, layer, person):
    people = [person(n) for n in ("Ana", "Ben", "Chen")]
    sched = schedule(time_zone="UTC")
    layer(sched, people, rotation="daily", handoff_time=time(0), shift_size=2)
    assert sorted(names(selectors.oncall_at(sched, at(2026, 1, 5, 12)))) == ["Ana", "Ben"]
    assert sorted(names(selectors.oncall_at(sched, at(2026, 1, 6, 12)))) == ["Ana", "Chen"]


def test_overrides_replace_everyone_or_one_person(schedule, layer, person):
    ana, ben, chen, dora = (person(n) for n in ("Ana", "Ben", "Chen", "Dora"))
    sched = schedule(time_zone="UTC")
    layer(sched, [ana, ben], rotation="daily", handoff_time=time(0), shift_size=2)
    services.add_override(sched, actor=SYSTEM, person=chen, replaces=ana,
                          starts_at=at(2026, 1, 5, 10), ends_at=at(2026, 1, 5, 12))
    assert sorted(names(selectors.oncall_at(sched, at(2026, 1, 5, 11)))) == ["Ben", "Chen"]
    services.add_override(sched, actor=SYSTEM, person=dora, starts_at=at(2026, 1, 5, 11), ends_at=at(2026, 1, 5, 13))
    final = selectors.oncall_at(sched, at(2026, 1, 5, 11, 30))
    assert names(final) == ["Dora"] and final[0].assignment.source == "override"


def test_override_must_end_after_start(schedule, person):
    sched = schedule()
    with pytest.raises(ValidationError) as caught:
        services.add_override(sched, actor=SYSTEM, person=person("Ana"),
                              starts_at=at(2026, 1, 5, 12), ends_at=at(2026, 1, 5, 10))
    assert "ends_at" in caught.value.message_dict
    assert not sched.overrides.exists()


def test_delegate_stands_in_and_says_for_whom(schedule, layer, person):
    ana, ben = person("Ana"), person("Ben")
    sched = schedule(time_zone="UTC")
    layer(sched, [ana], rotation="weekly")
    directory.delegate(ana, ben, actor=SYSTEM, starts_at=at(2026, 1, 6), ends_at=at(2026, 1, 8), reason="Leave")
    entry = selectors.oncall_at(sched, at(2026, 1, 7))[0]
    assert entry.person == ben and entry.delegated_from == ana
    found, _ = selectors.shifts(sched, at(2026, 1, 5, 12), at(2026, 1, 9))
    assert [(s.person_id, s.start, s.end) for s in found] == [
        (ana.pk, at(2026, 1, 5, 12), at(2026, 1, 6)),
        (ben.pk, at(2026, 1, 6), at(2026, 1, 8)),
        (ana.pk, at(2026, 1, 8), at(2026, 1, 9)),
    ]


def test_role_participant_follows_its_holder(schedule, layer, person):
    ana, ben = person("Ana"), person("Ben")
    role = directory.create_role(actor=SYSTEM, name="Network on-call")
    directory.assign_holder(role, ana, actor=SYSTEM, starts_at=at(2026, 1, 1), ends_at=at(2026, 1, 10))
    directory.assign_holder(role, ben, actor=SYSTEM, starts_at=at(2026, 1, 10))
    sched = schedule(time_zone="UTC")
    layer(sched, [role], rotation="weekly")
    assert names(selectors.oncall_at(sched, at(2026, 1, 9))) == ["Ana"]
    entry = selectors.oncall_at(sched, at(2026, 1, 11))[0]
    assert entry.person == ben and entry.role == role


def test_deactivated_participant_leaves_a_gap_and_a_vacancy(schedule, layer, person):
    ana = person("Ana")
    sched = schedule(time_zone="UTC")
    layer(sched, [ana], rotation="weekly")
    directory.deactivate_person(ana, actor=SYSTEM, source="cli")
    assert selectors.oncall_at(sched, at(2026, 1, 7)) == []
    _, gaps = selectors.shifts(sched, at(2026, 1, 6), at(2026, 1, 8))
    assert [(g.start, g.end) for g in gaps] == [(at(2026, 1, 6), at(2026, 1, 8))]
    assert selectors.vacancies(sched) == ["Layer 1: Ana is deactivated"]


def test_swap_takes_effect_when_accepted(schedule, layer, person):
    ana, ben = person("Ana"), person("Ben")
    sched = schedule(time_zone="UTC")
    layer(sched, [ana, ben], rotation="weekly", handoff_time=time(0))
    swap = services.request_swap(sched, actor=SYSTEM, requester=ana, counterpart=ben,
                                 starts_at=at(2026, 1, 6), ends_at=at(2026, 1, 7),
                                 return_starts_at=at(2026, 1, 13), return_ends_at=at(2026, 1, 14))
    assert names(selectors.oncall_at(sched, at(2026, 1, 6, 12))) == ["Ana"]
    services.accept_swap(swap, actor=SYSTEM)
    mine = selectors.oncall_at(sched, at(2026, 1, 6, 12))[0]
    assert mine.person == ben and mine.assignment.source == "swap"
    assert names(selectors.oncall_at(sched, at(2026, 1, 13, 12))) == ["Ana"]
    assert list(swap.history.values_list("status", flat=True)) == ["accepted", "pending"]
    with pytest.raises(ValidationError):
        services.accept_swap(swap, actor=SYSTEM)


def test_swap_of_a_shift_one_does_not_hold_is_refused(schedule, layer, person):
    ana, ben = person("Ana"), person("Ben")
    sched = schedule(time_zone="UTC")
    layer(sched, [ana, ben], rotation="weekly", handoff_time=time(0))
    with pytest.raises(ValidationError) as caught:
        services.request_swap(sched, actor=SYSTEM, requester=ben, counterpart=ana,
                              starts_at=at(2026, 1, 6), ends_at=at(2026, 1, 7))
    assert "not on call" in str(caught.value)


def test_unknown_time_zone_is_named(db):
    with pytest.raises(ValidationError) as caught:
        services.create_schedule(actor=SYSTEM, name="Mars", time_zone="Mars/Base")
    assert caught.value.message_dict == {"time_zone": ["Unknown time zone 'Mars/Base'."]}


def test_a_new_role_holder_takes_over_mid_shift(schedule, layer, person):
    ana, ben = person("Ana"), person("Ben")
    role = directory.create_role(actor=SYSTEM, name="Database on-call")
    directory.assign_holder(role, ana, actor=SYSTEM, starts_at=at(2026, 1, 1), ends_at=at(2026, 1, 7, 15))
    directory.assign_holder(role, ben, actor=SYSTEM, starts_at=at(2026, 1, 7, 15))
    sched = schedule(time_zone="UTC")
    layer(sched, [role], rotation="weekly", handoff_time=time(9))
    found, gaps = selectors.shifts(sched, at(2026, 1, 6), at(2026, 1, 9))
    assert [(s.person_id, s.start, s.end, s.assignment.role_id) for s in found] == [
        (ana.pk, at(2026, 1, 6), at(2026, 1, 7, 15), role.pk),
        (ben.pk, at(2026, 1, 7, 15), at(2026, 1, 9), role.pk),
    ]
    assert gaps == []


def test_a_layer_that_ends_hands_back_to_the_one_below(schedule, layer, person):
    ana, ben = person("Ana"), person("Ben")
    sched = schedule(time_zone="Asia/Kolkata")
    layer(sched, [ana], rotation="weekly", handoff_time=time(9))
    layer(sched, [ben], rotation="daily", handoff_time=time(9), start_date=date(2026, 1, 6),
          end_date=date(2026, 1, 8))
    found, _ = selectors.shifts(sched, at(2026, 1, 5, 12), at(2026, 1, 9))
    # 09:00 in Kolkata is 03:30 UTC.
    assert [(s.person_id, s.start, s.end) for s in found] == [
        (ana.pk, at(2026, 1, 5, 12), at(2026, 1, 6, 3, 30)),
        (ben.pk, at(2026, 1, 6, 3, 30), at(2026, 1, 8, 3, 30)),  # one person's days in a row are one shift
        (ana.pk, at(2026, 1, 8, 3, 30), at(2026, 1, 9)),
    ]
