"""B1, B6: a role resolves to its holders at time T, and delegation applies inside its window only."""

from datetime import timedelta

from django.utils import timezone

from tocsin.directory import services
from tocsin.directory.resolution import resolve_role

from .conftest import SYSTEM


def test_holdings_are_time_bound(make_person, make_role):
    role = make_role("IT Manager")
    ana, ben = make_person("Ana"), make_person("Ben")
    now = timezone.now()
    services.assign_holder(role, ana, actor=SYSTEM, starts_at=now - timedelta(days=10), ends_at=now)
    services.assign_holder(role, ben, actor=SYSTEM, starts_at=now)
    assert resolve_role(role, now - timedelta(seconds=1)) == [ana]
    assert resolve_role(role, now) == [ben]  # start <= now < end
    assert resolve_role("it-manager", now - timedelta(days=11)) == []


def test_delegation_across_its_boundaries(make_person, make_role):
    role = make_role("CTO")
    ana, ben = make_person("Ana"), make_person("Ben")
    now = timezone.now()
    services.assign_holder(role, ana, actor=SYSTEM, starts_at=now - timedelta(days=30))
    start, end = now + timedelta(days=1), now + timedelta(days=8)
    services.delegate(ana, ben, actor=SYSTEM, starts_at=start, ends_at=end, reason="Annual leave")
    assert resolve_role(role, start - timedelta(microseconds=1)) == [ana]
    assert resolve_role(role, start) == [ben]
    assert resolve_role(role, end - timedelta(microseconds=1)) == [ben]
    assert resolve_role(role, end) == [ana]


def test_delegation_chains_and_loops(make_person, make_role):
    role = make_role("Network on-call")
    ana, ben, chen = make_person("Ana"), make_person("Ben"), make_person("Chen")
    now = timezone.now()
    services.assign_holder(role, ana, actor=SYSTEM, starts_at=now - timedelta(hours=1))
    window = {"starts_at": now - timedelta(hours=1), "ends_at": now + timedelta(hours=1)}
    services.delegate(ana, ben, actor=SYSTEM, **window)
    services.delegate(ben, chen, actor=SYSTEM, **window)
    assert resolve_role(role, now) == [chen]
    services.delegate(chen, ana, actor=SYSTEM, **window)  # a loop stops at the last new person
    assert resolve_role(role, now) == [chen]


def test_inactive_delegate_is_skipped(make_person, make_role):
    role = make_role("CTO")
    ana, ben = make_person("Ana"), make_person("Ben")
    now = timezone.now()
    services.assign_holder(role, ana, actor=SYSTEM, starts_at=now - timedelta(hours=1))
    services.delegate(ana, ben, actor=SYSTEM, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1))
    services.deactivate_person(ben, actor=SYSTEM)
    assert resolve_role(role, now) == [ana]


def test_offboarding_ends_holdings_and_methods_and_signals(make_person, make_role, phone):
    from tocsin.directory.signals import person_deactivated

    role = make_role("Network on-call")
    ana = make_person("Ana")
    method = phone(ana)
    services.assign_holder(role, ana, actor=SYSTEM, starts_at=timezone.now() - timedelta(days=1))
    received = []
    person_deactivated.connect(lambda sender, **kw: received.append(kw), weak=False, dispatch_uid="t")
    try:
        from django.test import TestCase

        with TestCase.captureOnCommitCallbacks(execute=True):
            ended = services.deactivate_person(ana, actor=SYSTEM, source="scim")
    finally:
        person_deactivated.disconnect(dispatch_uid="t")
    method.refresh_from_db()
    assert ended == ["network-on-call"] and not method.is_active
    assert resolve_role(role) == []
    assert received and received[0]["roles"] == ["network-on-call"]


def test_offboarding_closes_the_linked_login(make_user, make_person):
    user = make_user("leaver", roles=["responder"])
    person = make_person("Leaver", user=user)
    services.deactivate_person(person, actor=SYSTEM)
    user.refresh_from_db()
    assert not user.is_active


def test_overdue_validations_list_each_person_once(make_team, make_person):
    from tocsin.directory.compliance import overdue_validations
    from tocsin.directory.models import Person, Stewardship

    network, platform = make_team("Network"), make_team("Platform")
    Stewardship.objects.create(team=network, validation_interval_days=90)
    Stewardship.objects.create(team=platform, validation_interval_days=30)
    both = make_person("Both", teams=[network, platform])
    fresh = make_person("Fresh", teams=[network])
    now = timezone.now()
    Person.objects.filter(pk=both.pk).update(last_validated_at=now - timedelta(days=40))
    Person.objects.filter(pk=fresh.pk).update(last_validated_at=now - timedelta(days=40))
    overdue = overdue_validations(now)
    assert [(o.person.name, o.team.slug) for o in overdue] == [("Both", "platform")]
