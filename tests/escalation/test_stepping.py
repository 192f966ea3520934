"""Escalation steps: tiers in order after their delays, follow-ups, repeats, backups, fallback."""

from datetime import timedelta

from tocsin.escalation.models import Escalation
from tocsin.incidents import services as incidents
from tocsin.incidents.models import Incident

from .conftest import SYSTEM, T0, paged, tier


def test_tiers_page_in_order_after_their_windows_with_follow_ups(person, policy, clock, trigger, make_user):
    ana, ben = person("Ana"), person("Ben")
    person("Root", user=make_user("root", roles=["admin"]))
    policy(tier(ana, delay=30), tier(ben, delay=10), follow_up_minutes=15)
    incident = trigger()
    clock.at(T0)
    assert paged(incident) == [("Ana", "page", 0, 0, 0)]
    clock.at(T0 + timedelta(minutes=14, seconds=59))
    assert len(paged(incident)) == 1
    clock.at(T0 + timedelta(minutes=15))
    assert paged(incident)[-1] == ("Ana", "follow_up", 0, 0, 1)
    clock.at(T0 + timedelta(minutes=30))
    assert paged(incident)[-1] == ("Ben", "page", 1, 0, 0)
    incident.refresh_from_db()
    assert incident.assigned_to == ana and not incident.unpaged
    clock.at(T0 + timedelta(minutes=40))
    assert paged(incident)[-1][:2] == ("Root", "fallback")
    incident.refresh_from_db()
    assert incident.unpaged
    assert Escalation.objects.get(incident=incident).state == Escalation.EXHAUSTED


def test_acknowledging_stops_further_steps(person, policy, clock, trigger):
    ana, ben = person("Ana"), person("Ben")
    policy(tier(ana, delay=5), tier(ben, delay=5))
    incident = trigger()
    clock.at(T0)
    incidents.acknowledge(incident, actor=SYSTEM, via="web", at=T0 + timedelta(minutes=1))
    clock.at(T0 + timedelta(hours=5))
    assert paged(incident) == [("Ana", "page", 0, 0, 0)]
    assert Incident.objects.get(pk=incident.pk).status == Incident.ACKNOWLEDGED


def test_no_policy_pages_the_fallback_and_flags_the_incident(person, clock, trigger, make_user):
    person("Root", user=make_user("root", roles=["admin"]))
    incident = trigger()
    clock.at(T0)
    incident.refresh_from_db()
    assert incident.unpaged and paged(incident) == [("Root", "fallback", None, None, 0)]
    assert "no policy is linked" in incident.timeline.get(kind="unpaged").message


def test_nobody_at_all_is_flagged_not_silent(clock, trigger):
    incident = trigger()
    clock.at(T0)
    incident.refresh_from_db()
    assert incident.unpaged and paged(incident) == []
    assert "Nobody could be paged" in incident.timeline.get(kind="unpaged").message
