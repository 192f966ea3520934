"""On-call reminders: a shift starting, a handoff, a gap in the schedule or a swap request reaches
the people concerned once, through the first usable step of their low-urgency chain."""

import logging
import time
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tocsin.directory.models import Person
from tocsin.engine import queue
from tocsin.engine.models import Job
from tocsin.engine.registry import handler
from tocsin.oncall import signals
from tocsin.oncall.models import Schedule, ShiftSwap

from . import chains, direct
from .models import LOW, VOICE
from .provider_choice import Catalogue
from .providers.base import Message

log = logging.getLogger("tocsin.notify")
REMIND_JOB = "notify.remind"
SHIFT, HANDOFF_IN, HANDOFF_OUT, GAP, SWAP = "shift", "handoff_in", "handoff_out", "gap", "swap"


class NotSent(Exception):
    pass


# --- from on-call events to jobs -----------------------------------------------------------------


def schedule_reminders(event, people_ids, facts, *, now=None):
    """One `notify.remind` job per person for `event` (a stable key of the on-call event). A key
    already pending, or already sent, is not scheduled again."""
    now = now or timezone.now()
    wanted = {pid: f"{REMIND_JOB}:{event}:{pid}" for pid in dict.fromkeys(people_ids) if pid is not None}
    done = set(Job.objects.filter(kind=REMIND_JOB, key__in=wanted.values(), state=Job.DONE)
               .values_list("key", flat=True))
    for pid, key in wanted.items():
        if key not in done:
            queue.schedule(REMIND_JOB, due_at=now, key=key, payload={**facts, "person": pid})
    return [key for key in wanted.values() if key not in done]


def _iso(value):
    return value.isoformat() if value is not None else None


def on_shift_started(sender, schedule, person, start, end, **kwargs):
    if person is None:
        return
    schedule_reminders(f"shift:{schedule.pk}:{person.pk}:{start.isoformat()}", [person.pk],
                       {"kind": SHIFT, "schedule": schedule.pk, "start": _iso(start), "end": _iso(end)})


def on_handoff(sender, schedule, previous, person, at, **kwargs):
    event = f"handoff:{schedule.pk}:{at.isoformat()}"
    facts = {"schedule": schedule.pk, "start": _iso(at)}
    if person is not None:
        schedule_reminders(f"{event}:in", [person.pk], {**facts, "kind": HANDOFF_IN})
    schedule_reminders(f"{event}:out", [p.pk for p in previous or () if p is not None],
                       {**facts, "kind": HANDOFF_OUT})


def on_gap_found(sender, schedule, start, end, **kwargs):
    if schedule.team_id is None:
        log.info("a schedule without a team has a gap; nobody to remind", extra={"schedule": schedule.pk})
        return
    members = Person.objects.filter(teams=schedule.team_id, is_active=True).values_list("pk", flat=True)
    schedule_reminders(f"gap:{schedule.pk}:{start.isoformat()}", list(members),
                       {"kind": GAP, "schedule": schedule.pk, "start": _iso(start), "end": _iso(end)})


def on_swap_requested(sender, swap, **kwargs):
    schedule_reminders(f"swap:{swap.pk}", [swap.counterpart_id], {"kind": SWAP, "swap": swap.pk})


def connect():
    """Listen to the on-call events; NotifyConfig.ready calls it."""
    signals.shift_started.connect(on_shift_started, sender=Schedule, dispatch_uid="notify.reminders.shift")
    signals.handoff.connect(on_handoff, sender=Schedule, dispatch_uid="notify.reminders.handoff")
    signals.gap_found.connect(on_gap_found, sender=Schedule, dispatch_uid="notify.reminders.gap")
    signals.swap_requested.connect(on_swap_requested, sender=Schedule, dispatch_uid="notify.reminders.swap")


# --- the job: render and send --------------------------------------------------------------------


def _when(value, zone):
    instant = parse_datetime(value) if isinstance(value, str) else value
    return instant.astimezone(zone).strftime("%a %d %b %H:%M %Z") if instant else "?"


def render(facts):
    """(subject, text) of a reminder: the schedule and the times, in the schedule's zone; no contact data."""
    if facts.get("kind") == SWAP:
        swap = ShiftSwap.objects.select_related("schedule", "requester").filter(pk=facts.get("swap")).first()
        if swap is None or swap.status != ShiftSwap.PENDING:
            return None
        zone = _zone(swap.schedule)
        return ("Tocsin: a shift swap is waiting for you",
                f"Tocsin: {swap.requester.name} asks you to take their on-call shift on {swap.schedule.name}, "
                f"{_when(swap.starts_at, zone)} to {_when(swap.ends_at, zone)}. Open Tocsin to accept or decline.")
    schedule = Schedule.objects.filter(pk=facts.get("schedule")).first()
    if schedule is None:
        return None
    zone, kind = _zone(schedule), facts.get("kind")
    start, end = _when(facts.get("start"), zone), _when(facts.get("end"), zone)
    if kind == SHIFT:
        return (f"Tocsin: your on-call shift on {schedule.name} has started",
                f"Tocsin: your on-call shift on {schedule.name} has started ({start} to {end}).")
    if kind == HANDOFF_IN:
        return (f"Tocsin: you are now on call for {schedule.name}",
                f"Tocsin: on-call for {schedule.name} was handed to you at {start}.")
    if kind == HANDOFF_OUT:
        return (f"Tocsin: your on-call shift on {schedule.name} has ended",
                f"Tocsin: you handed on-call for {schedule.name} over at {start}; you are no longer on call.")
    if kind == GAP:
        return (f"Tocsin: nobody is on call for {schedule.name} from {start}",
                f"Tocsin: nobody is on call for {schedule.name} from {start} to {end}. Please arrange cover.")
    return None


def _zone(schedule):
    try:
        return ZoneInfo(schedule.time_zone or "UTC")
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def first_usable_step(person_id, now):
    """The first step of the person's low-urgency chain that may be used now. Voice steps are
    passed over: a reminder is text, and a call would need TwiML of its own."""
    steps = chains.chains_for([person_id], LOW).get(person_id, [])
    for step in chains.usable_steps(steps, emergency=False, start=now):
        if step.channel != VOICE:
            return step
    return None


def remind(payload, *, now, job_id=None, key=None, catalogue=None):
    """Send one reminder; returns the provider that took it, or '' when there was nothing to send
    (sent already under the same key, the person gone, no usable step). Raises NotSent when every
    provider failed, so that the engine tries again."""
    if key and Job.objects.filter(kind=REMIND_JOB, key=key, state=Job.DONE).exclude(pk=job_id).exists():
        return ""  # this event was reminded of already (the signal came twice)
    person = Person.objects.filter(pk=payload.get("person"), is_active=True).first()
    rendered = render(payload) if person is not None else None
    if rendered is None:
        return ""
    step = first_usable_step(person.pk, now)
    if step is None:
        log.info("no usable low-urgency step for an on-call reminder", extra={"person": person.pk})
        return ""
    subject, text = rendered
    message = Message(channel=step.channel, to=step.method.value, subject=subject, text=text,
                      data={"reminder": payload.get("kind")}, key=f"remind-{job_id or time.time_ns()}")
    provider, problem = direct.first_taker((catalogue or Catalogue()).candidates(step.channel, message.to), message,
                                           step.channel)
    if not provider:
        raise NotSent(problem)
    return provider


@handler(REMIND_JOB, transactional=False, max_attempts=5)
def remind_job(payload, context):
    remind(payload, now=context.now, job_id=context.job_id, key=context.key)
