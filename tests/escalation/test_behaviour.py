"""Escalation behaviour around the tiers: backups and the fallback, selection by expertise, the
pinned policy version, snooze, re-trigger, the service ack timeout, resolution deadlines, manual
escalation, added responders, reassignment, legacy exceptions, and steps that run twice."""

from datetime import date, timedelta

import pytest

from tocsin.catalog import services as catalog
from tocsin.core.permissions import Principal
from tocsin.directory import services as directory
from tocsin.engine.models import Job
from tocsin.engine.runner import Context
from tocsin.escalation import jobs, services, stepping
from tocsin.escalation.models import Escalation, NotificationRequest
from tocsin.incidents import services as incidents
from tocsin.incidents.models import Incident, Responder, TimelineEntry
from tocsin.oncall import services as oncall

from .conftest import SYSTEM, T0, paged, tier


def minutes(n):
    return T0 + timedelta(minutes=n)


def run_everything_until(clock, until):
    """Like Clock.run_until, for incident jobs too (the end of a snooze): each at its due time."""
    while True:
        due = (Job.objects.filter(state=Job.PENDING, due_at__lte=until)
               .filter(kind__regex=r"^(escalation|incidents)\.").order_by("due_at")
               .values_list("due_at", flat=True).first())
        if due is None:
            break
        clock.at(max(due, clock.now))
    clock.now = until


def pages_at(incident, **filters):
    """[(person name, reason, tier, run, minute)]"""
    rows = NotificationRequest.objects.filter(incident=incident, **filters).select_related("person")
    return [(r.person.name, r.reason, r.tier, r.run, (r.created_at - T0) / timedelta(minutes=1))
            for r in rows.order_by("created_at", "pk")]


def pending(kind_prefix):
    return Job.objects.filter(state=Job.PENDING, kind__startswith=kind_prefix).count()


@pytest.fixture
def root(person, make_user):
    return person("Root", user=make_user("root", roles=["admin"]))


# --- who a tier reaches -------------------------------------------------------------------------

def test_a_deactivated_primary_falls_through_to_the_backup(person, policy, clock, trigger):
    ana, ben = person("Ana"), person("Ben")
    policy(tier(ana, backup=[{"type": "person", "id": ben.pk}]))
    directory.deactivate_person(ana, actor=SYSTEM, at=T0 - timedelta(hours=1))
    incident = trigger()
    clock.at(T0)
    assert paged(incident) == [("Ben", "page", 0, 0, 0)]
    assert "(backup)" in incident.timeline.get(kind=TimelineEntry.ESCALATED).message


def test_a_role_without_a_holder_falls_through_to_the_backup(person, policy, clock, trigger):
    chen, dana = person("Chen"), person("Dana")
    empty_role = directory.create_role(actor=SYSTEM, name="Head of payments")
    held_role = directory.create_role(actor=SYSTEM, name="Payments lead")
    directory.assign_holder(held_role, dana, actor=SYSTEM, starts_at=T0 - timedelta(days=3))
    policy({"delay_minutes": 10, "targets": [{"type": "role", "id": empty_role.pk}],
            "backup": [{"type": "role", "id": held_role.pk}]}, tier(chen))
    incident = trigger()
    clock.at(T0)
    assert paged(incident) == [("Dana", "page", 0, 0, 0)]


def test_a_tier_reaching_nobody_moves_on_at_once_and_says_so(person, policy, clock, trigger):
    ana, ben = person("Ana"), person("Ben")
    policy(tier(ana, delay=30, backup=[{"type": "person", "id": ana.pk}]), tier(ben, delay=30))
    directory.deactivate_person(ana, actor=SYSTEM, at=T0 - timedelta(hours=1))
    incident = trigger()
    clock.at(T0)
    assert pages_at(incident) == [("Ben", "page", 1, 0, 0)]
    skipped = incident.timeline.get(kind=TimelineEntry.ESCALATED, data__tier=0)
    assert "reached nobody" in skipped.message and skipped.at == T0


def test_a_person_away_is_replaced_by_their_delegate(person, policy, clock, trigger):
    ana, ben = person("Ana"), person("Ben")
    directory.delegate(ana, ben, actor=SYSTEM, starts_at=T0 - timedelta(hours=1), ends_at=T0 + timedelta(days=1),
                       reason="Parental leave")
    policy(tier(ana))
    incident = trigger()
    clock.at(T0)
    assert paged(incident) == [("Ben", "page", 0, 0, 0)]


def test_the_policy_fallback_is_paged_last_and_the_incident_flagged(person, policy, clock, trigger, root):
    ana, fay = person("Ana"), person("Fay")
    policy(tier(ana, delay=5), follow_up_minutes=0, fallback=[{"type": "person", "id": fay.pk}])
    incident = trigger()
    clock.run_until(minutes(60))
    assert pages_at(incident) == [("Ana", "page", 0, 0, 0), ("Fay", "fallback", None, 0, 5)]
    incident.refresh_from_db()
    assert incident.unpaged
    assert "Fay" in incident.timeline.get(kind=TimelineEntry.UNPAGED).message


def test_the_largest_policy_reaching_nobody_still_ends_loudly(person, policy, clock, trigger, root):
    """10 tiers repeated 9 times, every target gone: 100 empty tiers in one step, then the fallback."""
    gone = person("Gone")
    policy(*[tier(gone) for _ in range(10)], repeat=9)
    directory.deactivate_person(gone, actor=SYSTEM, at=T0 - timedelta(hours=1))
    incident = trigger()
    clock.at(T0)
    incident.refresh_from_db()
    assert incident.unpaged and paged(incident) == [("Root", "fallback", None, None, 0)]
    assert incident.timeline.filter(message__contains="reached nobody").count() == 100
    assert not Job.objects.filter(state=Job.PENDING, kind="escalation.step", attempts__gt=0).exists()


def test_expertise_pages_the_people_with_every_tag_or_else_everyone(person, policy, clock, trigger):
    ana = person("Ana", tags=["postgres", "kafka"])
    ben = person("Ben", tags=["postgres"])
    chen = person("Chen", tags=["kafka"])
    policy(tier(ana, ben, chen, selection="expertise", tags=["Kafka"]))
    incident = trigger()
    clock.at(T0)
    assert sorted(name for name, *_ in paged(incident)) == ["Ana", "Chen"]

    services.revise_policy(incident.service.escalation_link.policy, actor=SYSTEM, reason="Storage outage drill",
                           document={"tiers": [tier(ana, ben, chen, selection="expertise", tags=["ceph"])]})
    second = trigger(title="Disk latency")
    clock.at(T0)
    assert sorted(name for name, *_ in paged(second)) == ["Ana", "Ben", "Chen"]
    assert "nobody has ceph" in second.timeline.get(kind=TimelineEntry.ESCALATED).message


# --- the policy version -------------------------------------------------------------------------

def test_a_running_incident_keeps_its_policy_version_and_a_new_one_takes_the_new(person, policy, clock, trigger):
    ana, ben, chen = person("Ana"), person("Ben"), person("Chen")
    current = policy(tier(ana, delay=10), tier(ben, delay=10), follow_up_minutes=0)
    first = trigger()
    clock.at(T0)
    services.revise_policy(current, actor=SYSTEM, reason="Post-incident review: page the lead first",
                           document={"tiers": [tier(chen, delay=3)], "follow_up_minutes": 0})
    second = trigger(at=minutes(1), title="Refunds failing")
    clock.run_until(minutes(30))
    assert pages_at(first)[:2] == [("Ana", "page", 0, 0, 0), ("Ben", "page", 1, 0, 10)]
    assert pages_at(second)[0] == ("Chen", "page", 0, 0, 1)
    assert Escalation.objects.get(incident=first).version.number == 1
    assert Escalation.objects.get(incident=second).version.number == 2


# --- acknowledgement, snooze, re-trigger and the ack timeout -------------------------------------

def test_resolving_stops_every_pending_job(person, policy, clock, trigger, root):
    ana, ben = person("Ana"), person("Ben")
    policy(tier(ana, delay=10), tier(ben, delay=10), ack_timeout_minutes=30,
           deadlines=[{"after_minutes": 45, "tier": 1}])
    incident = trigger()
    clock.at(T0)
    incidents.snooze(incident, 20, actor=SYSTEM, at=minutes(2))
    assert pending("escalation.") == 2 and pending("incidents.") == 1  # deadline, ack timeout; snooze end
    incidents.resolve(incident, actor=SYSTEM, at=minutes(3))
    assert pending("escalation.") == 0 and pending("incidents.") == 0
    run_everything_until(clock, minutes(600))
    assert pages_at(incident) == [("Ana", "page", 0, 0, 0)]
    # undelivered requests are not wanted any more
    assert NotificationRequest.objects.get(incident=incident).state == NotificationRequest.CANCELLED


def test_a_snooze_triggers_again_when_it_ends_unresolved(person, policy, clock, trigger):
    ana, ben = person("Ana"), person("Ben")
    policy(tier(ana, delay=10), tier(ben, delay=10), follow_up_minutes=0)
    incident = trigger()
    clock.at(T0)
    incidents.snooze(incident, 30, actor=SYSTEM, at=minutes(4))
    run_everything_until(clock, minutes(29))
    assert pages_at(incident) == [("Ana", "page", 0, 0, 0)]
    run_everything_until(clock, minutes(45))
    incident.refresh_from_db()
    assert incident.status == Incident.TRIGGERED and incident.snoozed_until is None
    # a new run from the first tier, exactly when the snooze ends
    assert pages_at(incident) == [("Ana", "page", 0, 0, 0), ("Ana", "page", 0, 1, 34), ("Ben", "page", 1, 1, 44)]
    assert "snooze ended" in incident.timeline.get(kind=TimelineEntry.UNACKNOWLEDGED).message


def test_a_snooze_of_a_resolved_incident_triggers_nothing(person, policy, clock, trigger):
    ana = person("Ana")
    policy(tier(ana, delay=10))
    incident = trigger()
    clock.at(T0)
    incidents.snooze(incident, 30, actor=SYSTEM, at=minutes(4))
    incidents.resolve(incident, actor=SYSTEM, at=minutes(10))
    run_everything_until(clock, minutes(120))
    incident.refresh_from_db()
    assert incident.status == Incident.RESOLVED and len(paged(incident)) == 1


def test_unacknowledging_starts_a_new_run_from_the_first_tier(person, policy, clock, trigger):
    ana, ben = person("Ana"), person("Ben")
    policy(tier(ana, delay=10), tier(ben, delay=10), follow_up_minutes=0)
    incident = trigger()
    clock.at(T0)
    incidents.acknowledge(incident, actor=SYSTEM, at=minutes(5))
    clock.run_until(minutes(12))
    incidents.unacknowledge(incident, actor=SYSTEM, reason="the fix did not hold", at=minutes(12))
    clock.run_until(minutes(30))
    assert pages_at(incident) == [("Ana", "page", 0, 0, 0), ("Ana", "page", 0, 1, 12), ("Ben", "page", 1, 1, 22)]
    assert Escalation.objects.get(incident=incident).run == 1


def test_the_service_ack_timeout_triggers_an_acknowledged_incident_again(person, policy, clock, trigger):
    ana, ben = person("Ana"), person("Ben")
    policy(tier(ana, delay=10), tier(ben, delay=10), follow_up_minutes=0, ack_timeout_minutes=60)
    incident = trigger()
    clock.at(T0)
    incidents.acknowledge(incident, actor=SYSTEM, at=minutes(5))
    clock.run_until(minutes(64))
    assert Incident.objects.get(pk=incident.pk).status == Incident.ACKNOWLEDGED
    clock.run_until(minutes(66))
    incident.refresh_from_db()
    assert incident.status == Incident.TRIGGERED
    assert pages_at(incident)[-1] == ("Ana", "page", 0, 1, 65)
    assert "acknowledged for 60 min" in incident.timeline.get(kind=TimelineEntry.UNACKNOWLEDGED).message


def test_a_fresh_acknowledgement_has_its_own_ack_timeout(person, policy, clock, trigger):
    ana = person("Ana")
    policy(tier(ana, delay=10), follow_up_minutes=0, ack_timeout_minutes=60)
    incident = trigger()
    clock.at(T0)
    incidents.acknowledge(incident, actor=SYSTEM, at=minutes(5))
    incidents.unacknowledge(incident, actor=SYSTEM, at=minutes(20))
    clock.run_until(minutes(20))
    incidents.acknowledge(incident, actor=SYSTEM, at=minutes(30))
    clock.run_until(minutes(89))
    assert Incident.objects.get(pk=incident.pk).status == Incident.ACKNOWLEDGED  # not at 65
    clock.run_until(minutes(91))
    assert Incident.objects.get(pk=incident.pk).status == Incident.TRIGGERED


# --- resolution deadlines -------------------------------------------------------------------------

def test_a_deadline_jumps_a_running_escalation_to_its_tier(person, policy, clock, trigger, root):
    ana, ben, chen = person("Ana"), person("Ben"), person("Chen")
    policy(tier(ana, delay=60), tier(ben, delay=60), tier(chen, delay=60), follow_up_minutes=0,
           deadlines=[{"after_minutes": 30, "tier": 2}])
    incident = trigger()
    clock.run_until(minutes(200))
    assert pages_at(incident) == [("Ana", "page", 0, 0, 0), ("Chen", "page", 2, 0, 30), ("Root", "fallback", None, 0, 90)]
    assert "Unresolved after 30 min" in incident.timeline.get(kind=TimelineEntry.ESCALATED, data__tier=2,
                                                               actor_label="engine", message__contains="Unresolved").message


def test_a_deadline_pages_its_tier_while_acknowledged(person, policy, clock, trigger):
    ana, ben = person("Ana"), person("Ben")
    policy(tier(ana, delay=60), tier(ben, delay=60), deadlines=[{"after_minutes": 30, "tier": 1}])
    incident = trigger()
    clock.at(T0)
    incidents.acknowledge(incident, actor=SYSTEM, at=minutes(5))
    clock.run_until(minutes(200))
    assert pages_at(incident) == [("Ana", "page", 0, 0, 0), ("Ben", "deadline", None, 0, 30)]


def test_a_deadline_due_with_its_tier_pages_it_once(person, policy, clock, trigger):
    ana, ben = person("Ana"), person("Ben")
    policy(tier(ana, delay=30), tier(ben, delay=60), follow_up_minutes=0, deadlines=[{"after_minutes": 30, "tier": 1}])
    incident = trigger()
    clock.run_until(minutes(31))
    assert pages_at(incident) == [("Ana", "page", 0, 0, 0), ("Ben", "page", 1, 0, 30)]


def test_a_deadline_still_fires_after_the_incident_was_triggered_again(person, policy, clock, trigger):
    ana, ben = person("Ana"), person("Ben")
    policy(tier(ana, delay=60), tier(ben, delay=60), follow_up_minutes=0, deadlines=[{"after_minutes": 30, "tier": 1}])
    incident = trigger()
    clock.at(T0)
    incidents.acknowledge(incident, actor=SYSTEM, at=minutes(1))
    incidents.unacknowledge(incident, actor=SYSTEM, at=minutes(2))
    clock.run_until(minutes(31))
    assert pages_at(incident) == [("Ana", "page", 0, 0, 0), ("Ana", "page", 0, 1, 2), ("Ben", "page", 1, 1, 30)]


def test_a_deadline_for_the_other_urgency_is_not_scheduled(person, policy, clock, trigger):
    ana, ben = person("Ana"), person("Ben")
    policy(tier(ana, delay=60), tier(ben, delay=60), deadlines=[{"after_minutes": 30, "tier": 1, "urgency": "high"}])
    incident = trigger(urgency="low")
    clock.run_until(minutes(59))
    assert pages_at(incident) == [("Ana", "page", 0, 0, 0), ("Ana", "follow_up", 0, 0, 15), ("Ana", "follow_up", 0, 0, 30),
                                  ("Ana", "follow_up", 0, 0, 45)]


# --- by hand: escalate now, more responders, reassign -----------------------------------------------

def test_escalate_now_pages_the_next_tier_at_once(person, policy, clock, trigger, root):
    ana, ben, chen = person("Ana"), person("Ben"), person("Chen")
    policy(tier(ana, delay=10), tier(ben, delay=10), tier(chen, delay=10), follow_up_minutes=0)
    incident = trigger()
    clock.at(T0)
    incidents.escalate_now(incident, actor=SYSTEM, at=minutes(1))
    clock.run_until(minutes(12))
    assert pages_at(incident) == [("Ana", "page", 0, 0, 0), ("Ben", "page", 1, 0, 1), ("Chen", "page", 2, 0, 11)]
    incidents.escalate_now(incident, actor=SYSTEM, at=minutes(13))
    clock.run_until(minutes(13))
    assert pages_at(incident)[-1] == ("Root", "fallback", None, 0, 13)


def test_escalate_now_during_follow_ups_moves_past_the_current_tier(person, policy, clock, trigger):
    ana, ben = person("Ana"), person("Ben")
    policy(tier(ana, delay=30), tier(ben, delay=30), follow_up_minutes=5)
    incident = trigger()
    clock.run_until(minutes(6))
    incidents.escalate_now(incident, actor=SYSTEM, at=minutes(7))
    clock.run_until(minutes(7))
    assert pages_at(incident) == [("Ana", "page", 0, 0, 0), ("Ana", "follow_up", 0, 0, 5), ("Ben", "page", 1, 0, 7)]


def test_escalate_now_on_an_acknowledged_incident_pages_and_triggers_it_again(person, policy, clock, trigger):
    ana, ben = person("Ana"), person("Ben")
    policy(tier(ana, delay=30), tier(ben, delay=30), follow_up_minutes=0)
    incident = trigger()
    clock.at(T0)
    incidents.acknowledge(incident, actor=SYSTEM, at=minutes(1))
    incidents.escalate_now(incident, actor=SYSTEM, at=minutes(2))
    clock.run_until(minutes(2))
    incident.refresh_from_db()
    assert incident.status == Incident.TRIGGERED
    assert pages_at(incident) == [("Ana", "page", 0, 0, 0), ("Ben", "page", 1, 0, 2)]
    assert Escalation.objects.get(incident=incident).next_step_at == minutes(32)


def test_added_responders_are_paged_people_roles_and_schedules(person, policy, clock, trigger):
    ana, ben, chen, dana = person("Ana"), person("Ben"), person("Chen"), person("Dana")
    policy(tier(ana))
    role = directory.create_role(actor=SYSTEM, name="Database lead")
    directory.assign_holder(role, ben, actor=SYSTEM, starts_at=T0 - timedelta(days=1))
    schedule = oncall.create_schedule(actor=SYSTEM, name="DBA on call")
    oncall.add_override(schedule, actor=SYSTEM, person=chen, starts_at=T0 - timedelta(hours=2),
                        ends_at=T0 + timedelta(hours=2))
    oncall.add_override(schedule, actor=SYSTEM, person=dana, starts_at=T0 + timedelta(hours=2),
                        ends_at=T0 + timedelta(hours=4))
    incident = trigger()
    clock.at(T0)
    incidents.add_responders(incident, [role, schedule], actor=SYSTEM, message="Replica lag", at=minutes(3))
    responders = NotificationRequest.objects.filter(incident=incident, reason=NotificationRequest.RESPONDER)
    assert sorted(r.person.name for r in responders) == ["Ben", "Chen"]  # Dana is not on call yet
    assert all(r.message == "Replica lag" for r in responders)
    assert set(Responder.objects.filter(incident=incident).values_list("person__name", flat=True)) == {
        "Ana", "Ben", "Chen"}


def test_reassigning_pages_the_new_assignee(person, policy, clock, trigger):
    ana, ben = person("Ana"), person("Ben")
    policy(tier(ana))
    incident = trigger()
    clock.at(T0)
    assert Incident.objects.get(pk=incident.pk).assigned_to == ana
    incidents.reassign(incident, ben, actor=SYSTEM, at=minutes(2))
    assert pages_at(incident, reason=NotificationRequest.REASSIGNED) == [("Ben", "reassigned", None, 0, 2)]
    assert Responder.objects.get(incident=incident, person=ben).reason == Responder.ASSIGNED


# --- legacy exceptions ------------------------------------------------------------------------------

def test_an_approved_legacy_exception_changes_the_timings(person, policy, clock, trigger, service, make_user):
    ana, ben = person("Ana"), person("Ben")
    policy(tier(ana, delay=30), tier(ben, delay=30), follow_up_minutes=15)
    asker, approver = make_user("asker"), make_user("approver", roles=["admin"])
    exception = catalog.request_exception(
        service, actor=SYSTEM, requested_by=asker, summary="Mainframe batch answers slowly", reason="Vendor contract",
        review_on=date.today() + timedelta(days=90), ack_minutes=2, escalate_after_minutes=5)
    pending_one = trigger(title="Before approval")
    catalog.approve_exception(exception, principal=Principal.load(approver), actor=SYSTEM)
    incident = trigger(title="After approval")
    clock.run_until(minutes(10))
    assert pages_at(incident) == [
        ("Ana", "page", 0, 0, 0), ("Ana", "follow_up", 0, 0, 2), ("Ana", "follow_up", 0, 0, 4),
        ("Ben", "page", 1, 0, 5), ("Ben", "follow_up", 1, 0, 7), ("Ben", "follow_up", 1, 0, 9)]
    # an exception waiting for approval changes nothing
    assert pages_at(pending_one) == [("Ana", "page", 0, 0, 0)]


# --- steps that run twice ---------------------------------------------------------------------------

def _context(job, now):
    return Context(job.pk, job.kind, job.key, job.due_at, job.attempts, now)


def test_running_the_same_step_job_twice_pages_once(person, policy, clock, trigger):
    ana, ben = person("Ana"), person("Ben")
    policy(tier(ana, delay=10), tier(ben, delay=10), follow_up_minutes=0)
    incident = trigger()
    clock.at(T0)
    step = Job.objects.get(state=Job.PENDING, kind=stepping.STEP)
    clock.run_until(minutes(10))
    before = (NotificationRequest.objects.count(), TimelineEntry.objects.count(), Job.objects.count())
    jobs.step([(step.payload, _context(step, minutes(10)))])
    assert (NotificationRequest.objects.count(), TimelineEntry.objects.count(), Job.objects.count()) == before
    assert paged(incident) == [("Ana", "page", 0, 0, 0), ("Ben", "page", 1, 0, 0)]


def test_a_duplicated_step_job_row_pages_once(person, policy, clock, trigger):
    ana, ben = person("Ana"), person("Ben")
    policy(tier(ana, delay=10), tier(ben, delay=10), follow_up_minutes=0)
    incident = trigger()
    clock.at(T0)
    step = Job.objects.get(state=Job.PENDING, kind=stepping.STEP)
    Job.objects.create(kind=step.kind, payload=step.payload, due_at=step.due_at)  # a twin without the key
    clock.run_until(minutes(10))
    assert Job.objects.filter(kind=stepping.STEP, payload=step.payload, state=Job.DONE).count() == 2
    assert paged(incident) == [("Ana", "page", 0, 0, 0), ("Ben", "page", 1, 0, 0)]


def test_notifying_tier_2_of_cycle_1_twice_writes_one_request(person, policy, clock, trigger):
    """Below the seq guard: the same step performed again from the same position (as after a
    crash between the effects and the bookkeeping) finds its effects keyed and adds nothing."""
    ana, ben, chen = person("Ana"), person("Ben"), person("Chen")
    policy(tier(ana, delay=10), tier(ben, chen, delay=10), follow_up_minutes=0, repeat=1)
    incident = trigger()
    clock.run_until(minutes(29))  # tier 1 of cycle 1 is due at 30
    escalation = Escalation.objects.get(incident=incident)
    assert (escalation.cycle, escalation.tier, escalation.follow_up) == (1, 1, 0)
    snapshot = {field: getattr(escalation, field) for field in ("seq", "cycle", "tier", "follow_up", "tier_started_at",
                                                                 "targets", "next_step_at", "state")}
    clock.run_until(minutes(30))
    written = (NotificationRequest.objects.filter(incident=incident).count(), incident.timeline.count())
    Escalation.objects.filter(pk=escalation.pk).update(**snapshot)
    assert stepping.perform_step(escalation.pk, snapshot["seq"], minutes(30)) is True
    assert (NotificationRequest.objects.filter(incident=incident).count(), incident.timeline.count()) == written
    assert NotificationRequest.objects.filter(incident=incident, tier=1, cycle=1).count() == 2  # Ben and Chen once


def test_a_stale_step_after_acknowledgement_does_nothing(person, policy, clock, trigger):
    ana, ben = person("Ana"), person("Ben")
    policy(tier(ana, delay=10), tier(ben, delay=10), follow_up_minutes=0)
    incident = trigger()
    clock.at(T0)
    step = Job.objects.get(state=Job.PENDING, kind=stepping.STEP)
    incidents.acknowledge(incident, actor=SYSTEM, at=minutes(5))
    jobs.step([(step.payload, _context(step, minutes(10)))])  # a worker that claimed it just before
    assert paged(incident) == [("Ana", "page", 0, 0, 0)]


def test_a_snooze_longer_than_the_ack_timeout_is_not_cut_short(person, policy, clock, trigger):
    """Snoozing says when to trigger again; the service's ack timeout does not overrule it."""
    ana = person("Ana")
    policy(tier(ana, delay=10), follow_up_minutes=0, ack_timeout_minutes=60)
    incident = trigger()
    clock.at(T0)
    incidents.snooze(incident, 240, actor=SYSTEM, at=minutes(5))
    run_everything_until(clock, minutes(244))
    assert Incident.objects.get(pk=incident.pk).status == Incident.ACKNOWLEDGED
    run_everything_until(clock, minutes(246))
    assert Incident.objects.get(pk=incident.pk).status == Incident.TRIGGERED
    assert pages_at(incident) == [("Ana", "page", 0, 0, 0), ("Ana", "page", 0, 1, 245)]


def test_a_step_that_fails_every_attempt_flags_the_incident(person, policy, clock, trigger, monkeypatch):
    from tocsin.engine.models import Job
    from tocsin.escalation import stepping
    from tocsin.incidents.models import Incident

    policy(tier(person("Ana")))
    incident = trigger()

    def broken(*args, **kwargs):
        raise RuntimeError("target lookup broke")

    monkeypatch.setattr(stepping, "_advance", broken)  # failure injection
    when = T0
    for _ in range(8):
        clock.at(when)
        job = Job.objects.filter(kind="escalation.step").order_by("-pk").first()
        when = max(when, job.due_at)
    assert Job.objects.get(kind="escalation.step").state == Job.DEAD
    incident = Incident.objects.get(pk=incident.pk)
    assert incident.unpaged
    assert "failed on every attempt (RuntimeError)" in incident.timeline.get(kind="unpaged").message


def test_least_loaded_counts_the_choices_made_earlier_in_the_same_batch(person, policy, clock, trigger):
    ann, bob = person("Ann"), person("Bob")
    policy({"delay_minutes": 30, "targets": [{"type": "person", "id": p.pk} for p in (ann, bob)],
            "selection": "least_loaded"})
    storm = [trigger(title=f"Storm {n}") for n in range(6)]
    clock.at(T0)  # all six steps are claimed and run together
    owners = [Incident.objects.get(pk=i.pk).assigned_to.name for i in storm]
    assert sorted(owners) == ["Ann", "Ann", "Ann", "Bob", "Bob", "Bob"]


def test_acknowledging_keeps_the_pages_people_asked_for_by_hand(person, policy, clock, trigger):
    ana, bob = person("Ana"), person("Bob")
    policy(tier(ana))
    incident = trigger()
    clock.at(T0)
    incidents.add_responders(incident, [bob], actor=SYSTEM, at=T0 + timedelta(minutes=1))
    incidents.acknowledge(incident, actor=SYSTEM, at=T0 + timedelta(minutes=2))
    states = dict(NotificationRequest.objects.filter(incident=incident).values_list("person__name", "state"))
    assert states == {"Ana": "cancelled", "Bob": "pending"}
