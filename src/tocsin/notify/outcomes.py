"""What the answer to a send means for the notification: a delivery recorded, a retry with backoff,
a fallback to the person's next method at once, and, when every method of a person has failed,
an exhausted person; when every person of a tier is exhausted, the escalation moves on at once
(DESIGN: what advances an escalation)."""

import random
from datetime import timedelta

from django.db.models import Q

from tocsin.escalation.models import Escalation, NotificationRequest
from tocsin.incidents import signals as incident_signals
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.services import engine_entry, record_entries

from . import wakeups
from .models import Attempt
from .providers.base import DELIVERED, SENT

MAX_TRIES = 4  # sends of one attempt through its providers before it counts as failed
BACKOFF = (timedelta(seconds=5), timedelta(minutes=2))  # first retry, and the longest wait
STILL_REACHING = (Attempt.SCHEDULED, Attempt.SENDING, Attempt.SENT, Attempt.DELIVERED, Attempt.BUNDLED)
CHANNEL_WORDS = {"email": "e-mail", "sms": "SMS", "voice": "voice call", "chat": "chat", "webhook": "webhook"}
# Provider statuses (Twilio's words) as attempt statuses; the ones not listed change nothing.
PROVIDER_STATUSES = {
    "sent": Attempt.SENT, "delivered": Attempt.DELIVERED, "read": Attempt.DELIVERED,
    "undelivered": Attempt.UNDELIVERED, "failed": Attempt.FAILED, "canceled": Attempt.FAILED,
    "completed": Attempt.DELIVERED, "answered": Attempt.DELIVERED, "busy": Attempt.NO_ANSWER,
    "no-answer": Attempt.NO_ANSWER,
}
RANK = {Attempt.SENDING: 0, Attempt.SENT: 1, Attempt.DELIVERED: 2, Attempt.UNDELIVERED: 2, Attempt.FAILED: 2,
        Attempt.NO_ANSWER: 2}


def backoff(tries):
    """Exponential, with full jitter in its upper half so that a provider outage's retries spread."""
    base = min(BACKOFF[0] * (2 ** max(tries - 1, 0)), BACKOFF[1])
    return base / 2 + base / 2 * random.random()


class Recorder:
    """Collects a batch's timeline entries and wake-ups, written once at the end (`flush`)."""

    def __init__(self, now):
        self.now, self.entries, self.wakeups = now, [], set()

    def note(self, attempt, message, key, **data):
        self.entries.append(engine_entry(attempt.incident, TimelineEntry.NOTIFIED, message, key=key, at=self.now,
                                         data={"attempt": attempt.pk, "person": attempt.person_id, **data}))

    def flush(self):
        record_entries(self.entries)
        wakeups.at(self.wakeups)
        self.entries, self.wakeups = [], set()


def _describe(attempt):
    via = f" via {attempt.provider}" if attempt.provider else ""
    return f"{attempt.person.name} by {CHANNEL_WORDS.get(attempt.channel, attempt.channel)} ({attempt.destination}){via}"


def record_send(attempt, outcome, *, provider, failover_from, latency_ms, rec, carries=True):
    """The answer to one send of `attempt` (status SENDING, locked by the caller, who saves it);
    `carries`: whether its message carried other attempts (a bundle)."""
    now = rec.now
    attempt.provider, attempt.failover_from, attempt.latency_ms = provider, failover_from, latency_ms
    attempt.claimed_until = None
    if outcome.status in (SENT, DELIVERED):
        attempt.status = Attempt.DELIVERED if outcome.status == DELIVERED else Attempt.SENT
        attempt.provider_message_id, attempt.sent_at, attempt.error = outcome.provider_message_id[:120], now, ""
        if attempt.status == Attempt.DELIVERED:
            attempt.finished_at = now
        failover = f" after {failover_from} failed" if failover_from else ""
        rec.note(attempt, f"Notified {_describe(attempt)}{failover}: {attempt.get_status_display().lower()}.",
                 f"notify:attempt:{attempt.pk}:sent", status=attempt.status, provider=provider)
        if carries:
            Attempt.objects.filter(carrier=attempt).update(status=Attempt.BUNDLED, sent_at=now)
        return
    attempt.error = outcome.error[:500]
    if outcome.transient and attempt.tries < MAX_TRIES:
        attempt.status, attempt.due_at = Attempt.SCHEDULED, now + backoff(attempt.tries)
        rec.wakeups.add(attempt.due_at)
        if carries:
            _release_bundle(attempt, rec)
        return
    fail(attempt, Attempt.FAILED, rec)


def _release_bundle(attempt, rec):
    """The carrier will be sent later: what it carried goes back to being sent on its own."""
    if Attempt.objects.filter(carrier=attempt, status=Attempt.SENDING).update(
            status=Attempt.SCHEDULED, carrier=None, claimed_until=None, due_at=rec.now):
        rec.wakeups.add(rec.now)


def fail(attempt, status, rec):
    attempt.status, attempt.finished_at, attempt.claimed_until = status, rec.now, None
    rec.note(attempt, f"Could not notify {_describe(attempt)}: {attempt.get_status_display().lower()}"
                      + (f" ({attempt.error})" if attempt.error else "") + ".",
             f"notify:attempt:{attempt.pk}:{status}", status=status)
    attempt.save()
    for carried in Attempt.objects.filter(carrier=attempt, status__in=(Attempt.SENDING, Attempt.BUNDLED)):
        carried.error = attempt.error
        fail(carried, status, rec)
    fall_back(attempt, rec)


def fall_back(attempt, rec):
    """The person's next method now, without waiting for its delay; or, with none left, the person
    is exhausted."""
    following = (Attempt.objects.filter(request_id=attempt.request_id, status=Attempt.SCHEDULED,
                                        step__gt=attempt.step).order_by("step").first())
    if following is not None:
        if following.due_at > rec.now:
            following.due_at = rec.now
            following.save(update_fields=["due_at"])
        rec.wakeups.add(following.due_at)
        return
    request = NotificationRequest.objects.select_related("incident", "person").get(pk=attempt.request_id)
    if not Attempt.objects.filter(request=request, status__in=STILL_REACHING).exists():
        person_exhausted(request, rec.now)


def person_exhausted(request, now):
    """Every method of this request's person has failed (or none was usable)."""
    incident = request.incident
    record_entries([engine_entry(incident, TimelineEntry.NOTIFIED,
                                 f"Every contact method of {request.person.name} failed.",
                                 key=f"notify:exhausted:{request.pk}", at=now, data={"person": request.person_id})])
    if request.reason not in (NotificationRequest.PAGE, NotificationRequest.FOLLOW_UP) or request.tier is None:
        return
    if not Escalation.objects.filter(incident_id=incident.pk, state=Escalation.RUNNING, run=request.run).exists():
        return  # acknowledged, resolved or restarted since
    paged = NotificationRequest.objects.filter(incident_id=incident.pk, run=request.run,
                                               reason__in=(NotificationRequest.PAGE, NotificationRequest.FOLLOW_UP))
    if paged.filter(Q(cycle__gt=request.cycle) | Q(cycle=request.cycle, tier__gt=request.tier)).exists():
        return  # a later tier has been paged since
    tier = paged.filter(cycle=request.cycle, tier=request.tier)
    if tier.filter(state=NotificationRequest.PENDING).exists():
        return
    if Attempt.objects.filter(request__in=tier, status__in=STILL_REACHING).exists():
        return
    if Incident.objects.filter(pk=incident.pk, status=Incident.TRIGGERED).exists():
        record_entries([engine_entry(incident, TimelineEntry.ESCALATED,
                                     f"Every method of every person in tier {request.tier + 1} failed; "
                                     "escalating at once.", key=f"notify:tier-exhausted:{incident.pk}:{request.run}:"
                                     f"{request.cycle}:{request.tier}", at=now)])
        incident_signals.escalation_requested.send(Incident, incident=incident, at=now, actor=None)


def provider_status(attempt, status, error, rec):
    """A delivery status from the provider's callback; failures fall back at once."""
    new = PROVIDER_STATUSES.get(status)
    if new is None or attempt.status in (Attempt.CANCELLED, Attempt.SKIPPED, Attempt.SCHEDULED):
        return False
    if RANK.get(new, 0) < RANK.get(attempt.status, 0) or new == attempt.status:
        return False  # late or repeated news: delivered stays delivered
    if new in Attempt.FAILURES:
        attempt.error = error[:500]
        fail(attempt, new, rec)
        return True
    attempt.status = new
    if new == Attempt.DELIVERED:
        attempt.finished_at = rec.now
        rec.note(attempt, f"Delivered to {_describe(attempt)}.", f"notify:attempt:{attempt.pk}:delivered")
    attempt.save(update_fields=["status", "finished_at"])
    return True
