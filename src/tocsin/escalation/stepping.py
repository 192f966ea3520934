"""Running an incident's escalation on the engine: start, step, pause, restart, jump and stop.

Each step runs as one engine job inside one transaction with the job's completion, under a lock
on the Escalation row, and only if the job's `seq` is still the escalation's: an acknowledgement
or a manual escalation bumps `seq`, so a step already queued becomes a no-op. Every effect is also
keyed (requests, timeline entries), so even a repeated step cannot page twice."""

from datetime import timedelta

from django.db.models import Q

from tocsin.catalog.models import LegacyException
from tocsin.engine import queue
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.services import record_entry

from . import plan, spec as specs, targets
from .effects import STEP, Effects, step_key
from .models import Escalation, NotificationRequest, ServicePolicy
# Tiers that reach nobody advance at once, through every tier of every repeat to the fallback.
MAX_IMMEDIATE = specs.MAX_TIERS * (specs.MAX_REPEAT + 1) + 1


def deadline_key(escalation, index):
    return f"escalation:{escalation.pk}:deadline:{escalation.run}:{index}"


def ack_timeout_key(escalation):
    return f"escalation:{escalation.pk}:ack-timeout"


def _spec(escalation):
    return specs.Spec.model_validate(escalation.version.spec) if escalation.version_id else None


def _exception_for(service, at):
    return (LegacyException.objects.filter(service=service, status=LegacyException.APPROVED,
                                           review_on__gte=at.date())
            .filter(Q(ack_minutes__isnull=False) | Q(escalate_after_minutes__isnull=False))
            .order_by("-approved_at").first())


def start(incident, at):
    """Called when an incident is triggered: pin the current policy version and step at once."""
    link = ServicePolicy.objects.select_related("policy__current").filter(service_id=incident.service_id).first()
    version = link.policy.current if link else None
    escalation = Escalation.objects.create(incident=incident, version=version, seq=1, next_step_at=at)
    if version is not None:
        spec = _spec(escalation)
        exception = _exception_for(incident.service, at)
        timing = plan.timing_of(spec, exception)
        escalation.timing = {"delays": list(timing.delays), "follow_up": timing.follow_up, "repeat": timing.repeat,
                             "exception": exception.pk if exception else None}
        escalation.save(update_fields=["timing"])
        _schedule_deadlines(escalation, spec, incident, at)
    else:
        escalation.tier = 0  # no policy: the step goes straight to the fallback
        escalation.timing = {"delays": [], "follow_up": 0, "repeat": 0, "exception": None}
        escalation.save(update_fields=["tier", "timing"])
    _schedule_step(escalation, at)
    return escalation


def _timing(escalation):
    t = escalation.timing
    return plan.Timing(tuple(t["delays"]), t["follow_up"], t["repeat"])


def _schedule_step(escalation, due):
    queue.cancel(step_key(escalation))
    queue.schedule(STEP, due_at=due, key=step_key(escalation), payload={"escalation": escalation.pk,
                                                                         "seq": escalation.seq})


def _schedule_deadlines(escalation, spec, incident, at):
    """The run's resolution deadlines still ahead of `at` (counted from the incident's creation)."""
    for index, deadline in enumerate(spec.deadlines):
        due = incident.created_at + timedelta(minutes=deadline.after_minutes)
        if (deadline.urgency and deadline.urgency != incident.urgency) or due < at:
            continue
        queue.schedule("escalation.deadline", due_at=due, key=deadline_key(escalation, index),
                       payload={"escalation": escalation.pk, "run": escalation.run, "index": index})


def _new_run(escalation, incident, at):
    """A new run keys its pages afresh; its deadlines still count from the incident's creation,
    so those not yet passed move to the new run (a deadline job checks the run it was made for)."""
    spec = _spec(escalation)
    if spec is not None:
        queue.cancel(*(deadline_key(escalation, i) for i in range(len(spec.deadlines))))
    escalation.run += 1
    if spec is not None:
        _schedule_deadlines(escalation, spec, incident, at)


def perform_step(escalation_id, seq, now):
    """One step job (see `perform_steps`)."""
    return perform_steps([(escalation_id, seq)], now) == 1


def perform_steps(items, now):
    """Step jobs [(escalation id, seq)]: each pages its tier (or follows up, or pages the fallback)
    and queues its next step. The escalations are locked together and the effects written in bulk.
    Returns how many stepped."""
    wanted = dict(items)
    _lock_incidents(Q(escalation__pk__in=wanted))
    rows = (Escalation.objects.select_for_update(of=("self",)).select_related("incident", "version")
            .filter(pk__in=wanted).order_by("pk"))
    fx = Effects(now)
    stepped = 0
    for escalation in rows:
        if escalation.seq != wanted[escalation.pk] or escalation.state != Escalation.RUNNING:
            continue
        if escalation.incident.status != Incident.TRIGGERED:
            continue
        _advance(escalation, fx, now)
        stepped += 1
    fx.flush()
    return stepped


def _lock_incidents(which):
    """Incidents first, then their escalations: the order the incident services take them in
    (acknowledge locks the incident, then pauses the escalation), so the two never deadlock."""
    list(Incident.objects.select_for_update().filter(which).order_by("pk").values_list("pk", flat=True))


def _advance(escalation, fx, now):
    incident, spec, timing = escalation.incident, fx.spec(escalation), _timing(escalation)
    for _ in range(MAX_IMMEDIATE):
        position = plan.Position(escalation.cycle, escalation.tier, escalation.follow_up)
        if position.tier >= timing.fallback_tier:
            _page_fallback(escalation, spec, incident, fx)
            return
        tier = spec.tiers[position.tier]
        if position.follow_up == 0:
            people, how = _tier_people(escalation, spec, position, fx)
            if not people:
                _record(escalation, incident, position, TimelineEntry.ESCALATED, fx,
                        f"Tier {position.tier + 1} ({tier.path}) reached nobody, backup included; moving on.")
                _move(escalation, plan.next_tier(position, timing))
                continue
            escalation.targets, escalation.tier_started_at = [p.pk for p in people], now
            _page(escalation, incident, people, NotificationRequest.PAGE, position, fx, how=how)
        else:
            people = fx.people(escalation.targets)
            if not people:
                # Everyone the tier paged has gone (deactivated) since: like an empty tier, move on.
                _record(escalation, incident, position, TimelineEntry.FOLLOW_UP, fx,
                        f"Follow-up {position.follow_up}: nobody paged by tier {position.tier + 1} is active any "
                        "more; moving on.")
                _move(escalation, plan.next_tier(position, timing))
                continue
            _page(escalation, incident, people, NotificationRequest.FOLLOW_UP, position, fx)
        following, due = plan.after(position, escalation.tier_started_at, timing)
        _move(escalation, following)
        escalation.next_step_at = due
        escalation.seq += 1
        fx.save(escalation)
        fx.schedule_step(escalation, due)
        return
    raise RuntimeError(f"escalation {escalation.pk} kept advancing without paging anyone")


def _move(escalation, position):
    escalation.cycle, escalation.tier, escalation.follow_up = position.cycle, position.tier, position.follow_up


def _tier_people(escalation, spec, position, fx):
    """(people, how they were chosen) for the tier's first page."""
    tier = spec.tiers[position.tier]
    reached = fx.reach(tier.targets)
    note = ""
    if not reached and tier.backup:
        reached = fx.reach(tier.backup)
        note = "backup"
    chosen, how = targets.select(tier, position.tier, escalation.version.policy_id, reached,
                                 assigned_meanwhile=fx.assignments.values())
    return chosen, ", ".join(part for part in (note, how) if part)


def _page(escalation, incident, people, reason, position, fx, *, how=""):
    key = f"{incident.pk}:{escalation.run}:{position.cycle}:{position.tier}:{position.follow_up}"
    fx.page(incident, people, reason, key, run=escalation.run, cycle=position.cycle, tier=position.tier,
            follow_up=position.follow_up)
    if reason == NotificationRequest.PAGE:
        fx.assign(incident, people[0])
    names = ", ".join(p.name for p in people)
    if reason == NotificationRequest.FOLLOW_UP:
        text = f"Follow-up {position.follow_up}: still unacknowledged; notified {names} again."
        kind = TimelineEntry.FOLLOW_UP
    else:
        tier = fx.spec(escalation).tiers[position.tier]
        cycle = f", repeat {position.cycle}" if position.cycle else ""
        text = f"Escalated to tier {position.tier + 1} ({tier.path}{cycle}): paged {names}" + (f" ({how})." if how else ".")
        kind = TimelineEntry.ESCALATED
    _record(escalation, incident, position, kind, fx, text, people=[p.pk for p in people])


def _record(escalation, incident, position, kind, fx, message, **data):
    key = f"esc:{incident.pk}:{escalation.run}:{position.cycle}:{position.tier}:{position.follow_up}:{kind}"
    fx.record(incident, kind, message, key=key,
              data={"tier": position.tier, "cycle": position.cycle, "follow_up": position.follow_up, **data})


def fallback_people(spec, now):
    """The policy's final fallback, else the installation's: the administrators' people."""
    people = targets.resolve(spec.fallback, now) if spec and spec.fallback else []
    if people:
        return people
    return list(targets.administrators())


def _page_fallback(escalation, spec, incident, fx):
    people = fallback_people(spec, fx.now)
    if people:
        fx.page(incident, people, NotificationRequest.FALLBACK, f"{incident.pk}:{escalation.run}:fallback",
                run=escalation.run)
        names = ", ".join(p.name for p in people)
        why = "no policy is linked to the service" if escalation.version_id is None else "nobody acknowledged"
        message = f"Final fallback paged ({why}): {names}."
    else:
        message = "Nobody could be paged: the policy, its backups and the final fallback reach no one."
    fx.flag_unpaged(incident)
    fx.record(incident, TimelineEntry.UNPAGED, message, key=f"esc:{incident.pk}:{escalation.run}:unpaged")
    escalation.state, escalation.next_step_at = Escalation.EXHAUSTED, None
    escalation.seq += 1
    fx.save(escalation)


def _locked(incident):
    return Escalation.objects.select_for_update().filter(incident=incident).first()


def _halt(incident, state, reasons):
    """No further step; the pending requests of `reasons` are cancelled. Returns the escalation."""
    escalation = _locked(incident)
    if escalation is None:
        return None
    escalation.state, escalation.next_step_at = state, None
    escalation.seq += 1
    escalation.save()
    queue.cancel(step_key(escalation))
    NotificationRequest.objects.filter(incident=incident, state=NotificationRequest.PENDING,
                                       reason__in=reasons).update(state=NotificationRequest.CANCELLED)
    return escalation


def pause(incident, at):
    """Acknowledged: no further step; the service's ack timeout may trigger it again later. The
    escalation's own pages stop; people paged by hand (added responders, a new assignee) are still
    wanted, acknowledged or not."""
    escalation = _halt(incident, Escalation.PAUSED, NotificationRequest.ESCALATION_REASONS)
    if escalation is None:
        return
    link = ServicePolicy.objects.filter(service_id=incident.service_id, ack_timeout_minutes__isnull=False).first()
    if link:
        queue.cancel(ack_timeout_key(escalation))
        queue.schedule("escalation.ack_timeout", due_at=at + timedelta(minutes=link.ack_timeout_minutes),
                       key=ack_timeout_key(escalation),
                       payload={"incident": incident.pk, "acknowledged_at": at.isoformat(),
                                "minutes": link.ack_timeout_minutes})


def stop(incident, at):
    """Resolved: everything stops, deadlines, the ack timeout and every pending request included."""
    escalation = _halt(incident, Escalation.STOPPED, [reason for reason, _ in NotificationRequest.REASONS])
    if escalation is None:
        return
    deadlines = len(_spec(escalation).deadlines) if escalation.version_id else 0
    queue.cancel(ack_timeout_key(escalation), *(deadline_key(escalation, i) for i in range(deadlines)))


def restart(incident, at):
    """Triggered again (snooze over, ack timeout, by hand): a new run from the first tier."""
    escalation = _locked(incident)
    if escalation is None:
        start(incident, at)
        return
    queue.cancel(ack_timeout_key(escalation))
    _new_run(escalation, incident, at)
    escalation.state, escalation.cycle, escalation.tier, escalation.follow_up = Escalation.RUNNING, 0, 0, 0
    escalation.seq += 1
    escalation.next_step_at = at
    escalation.save()
    _schedule_step(escalation, at)


def jump(incident, at):
    """Page the next tier now (escalate by hand, or every method of the tier exhausted)."""
    escalation = _locked(incident)
    if escalation is None:
        return
    if escalation.state == Escalation.EXHAUSTED:
        escalation.tier = _timing(escalation).fallback_tier  # page the fallback again
        _new_run(escalation, incident, at)
    elif escalation.state == Escalation.RUNNING or escalation.state == Escalation.PAUSED:
        # The position held is the step still to come. A tier's first page still to come is the
        # next tier itself; only a tier that has paged (a follow-up to come) is moved past.
        if escalation.follow_up:
            _move(escalation, plan.next_tier(plan.Position(escalation.cycle, escalation.tier), _timing(escalation)))
        queue.cancel(ack_timeout_key(escalation))  # escalated by hand: no longer acknowledged
    else:
        return
    escalation.state = Escalation.RUNNING
    escalation.seq += 1
    escalation.next_step_at = at
    escalation.save()
    _schedule_step(escalation, at)


def page_people(incident, people, reason, key, at, message=""):
    """Page people outside the tiers (added responders, a new assignee); keyed by the caller."""
    fx = Effects(at)
    fx.page(incident, people, reason, key, message=message[:1000])
    fx.flush()


def perform_deadline(escalation_id, run, index, now):
    """Still unresolved after the deadline: page its tier (jumping there if escalation is below it)."""
    _lock_incidents(Q(escalation__pk=escalation_id))
    escalation = Escalation.objects.select_for_update(of=("self",)).select_related("incident").filter(pk=escalation_id).first()
    if escalation is None or escalation.run != run or not escalation.incident.is_open or not escalation.version_id:
        return
    spec = _spec(escalation)
    deadline = spec.deadlines[index]
    incident = escalation.incident
    tier = spec.tiers[deadline.tier]
    record_entry(incident, TimelineEntry.ESCALATED,
                 f"Unresolved after {deadline.after_minutes} min: paging tier {deadline.tier + 1} ({tier.path}).",
                 key=f"esc:{incident.pk}:{run}:deadline:{index}", at=now, data={"tier": deadline.tier})
    not_yet_paged = escalation.tier < deadline.tier or (escalation.tier == deadline.tier and not escalation.follow_up)
    if escalation.state == Escalation.RUNNING and not_yet_paged:
        _move(escalation, plan.Position(escalation.cycle, deadline.tier))
        escalation.seq += 1
        escalation.next_step_at = now
        escalation.save()
        _schedule_step(escalation, now)
        return
    people = targets.resolve(tier.targets, now) or targets.resolve(tier.backup, now)
    page_people(incident, people, NotificationRequest.DEADLINE, f"{incident.pk}:{run}:{index}", now)


def stalled(escalation_id, error, at):
    """The escalation's job failed every attempt: flag the incident unpaged and say so on its
    timeline, so that people page by hand (the dead letter can be retried from the engine page)."""
    escalation = Escalation.objects.select_related("incident").filter(pk=escalation_id).first()
    if escalation is None or not escalation.incident.is_open:
        return
    fx = Effects(at)
    fx.flag_unpaged(escalation.incident)
    fx.record(escalation.incident, TimelineEntry.UNPAGED,
              f"Escalation stopped: its next step failed on every attempt ({error}). Page by hand; an administrator "
              "can retry the step under Administration → Engine.", key=f"esc:{escalation.incident_id}:stalled:{at.isoformat()}")
    fx.flush()
