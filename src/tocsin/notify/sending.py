"""The sending run (engine job `notify.send`): claim the attempts that are due, bundle them per
destination, render their messages and hand them to the sending pool; and record the answers
the pool brings back. The database work is exactly-once; the sends are at-least-once."""

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from tocsin.core.bulk import insert_each, update_each
from tocsin.incidents.models import Incident

from . import bundling, journal, messages, outcomes, rendering
from .dispatch import obsolete
from .models import AckToken, Attempt
from .pool import pool
from .send_loop import Sending
from .provider_choice import Catalogue
from .providers.base import Outcome

BATCH = 500
CLAIM_FIELDS = ["status", "claimed_until", "tries", "subject", "body", "carrier"]
ANSWER_FIELDS = ["status", "due_at", "claimed_until", "provider", "failover_from", "provider_message_id", "sent_at",
                 "finished_at", "latency_ms", "error"]


def _lapsed(now):
    """Sends whose lease ran out: their process died, or is still at it. This process's own are
    left out by the callers, in Python (a fan-out has thousands in flight)."""
    return Q(status=Attempt.SENDING, claimed_until__lt=now)


def _share_incidents(attempts, incidents=Incident.objects):
    """Each attempt's incident, read once per incident: a fan-out's thousands of attempts share
    one, which select_related would build again for every row."""
    found = incidents.in_bulk({attempt.incident_id for attempt in attempts})
    for attempt in attempts:
        attempt.incident = found[attempt.incident_id]
    return attempts


def _due(now, size, in_flight):
    rows = (Attempt.objects.filter(Q(status=Attempt.SCHEDULED, due_at__lte=now) | _lapsed(now))
            .select_related("request", "person__user", "method").order_by("due_at", "pk"))
    if connection.vendor == "postgresql":
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    # What rendering reads of each incident, in one query (and one for related services).
    return _share_incidents([a for a in rows[:size] if a.pk not in in_flight],
                            Incident.objects.select_related("service__owner_team", "priority")
                            .prefetch_related("related_services"))


def recover(now, in_flight):
    """Sends whose lease lapsed: those a journal says a provider took are recorded as sent; the
    rest are taken again by the claim that follows. A journal goes once none of its sends can
    lapse any more (this process's own is started afresh)."""
    lapsed = any(pk not in in_flight for pk in Attempt.objects.filter(_lapsed(now)).values_list("pk", flat=True))
    stale = journal.stale_files()
    if not lapsed and not stale and not pool.unrecorded():
        return
    entries = journal.read(stale)
    with transaction.atomic():
        rows = Attempt.objects.filter(_lapsed(now), carrier__isnull=True).select_related("incident", "person")
        if connection.vendor == "postgresql":
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        rec = outcomes.Recorder(now)
        for attempt in rows if lapsed and entries else ():
            entry, _ = entries.get(journal.key(attempt.pk, str(attempt.message_id), attempt.claimed_until), (None, None))
            if entry is None or attempt.pk in in_flight:
                continue
            outcome = Outcome(entry["status"], entry.get("id") or "")
            outcomes.record_send(attempt, outcome, provider=entry.get("provider", ""), failover_from="",
                                 latency_ms=None, rec=rec, carries=True)
            attempt.save()
        rec.flush()
        waiting = _waiting(entries)
        keep = {path for key, (_, path) in entries.items() if key in waiting}
        own_settled = not any(path not in stale for path in keep)
        transaction.on_commit(lambda: (journal.remove([path for path in stale if path not in keep]),
                                       own_settled and pool.journal_settled()))


def _waiting(entries, chunk=10_000):
    """The journal's send keys whose attempt is still being sent under that lease (asked in chunks:
    a journal can hold more ids than a statement takes parameters)."""
    ids = sorted({int(attempt_id) for attempt_id, _, _ in (key.partition(":") for key in entries)
                  if attempt_id.isdigit()})
    return {journal.key(pk, str(message_id), lease) for start in range(0, len(ids), chunk)
            for pk, message_id, lease in Attempt.objects.filter(pk__in=ids[start:start + chunk], status=Attempt.SENDING)
            .values_list("pk", "message_id", "claimed_until")}


def send_due(now, size=BATCH):
    """Claim up to `size` due attempts and start sending them; returns how many were looked at."""
    in_flight = pool.in_flight()
    recover(now, in_flight)
    with transaction.atomic():
        due = _due(now, size, in_flight)
        if not due:
            return 0
        rec = outcomes.Recorder(now)
        ready = []
        for attempt in due:
            attempt.carrier = None
            if obsolete(attempt.request, attempt.incident):
                attempt.status, attempt.finished_at = Attempt.CANCELLED, now
                attempt.save(update_fields=["status", "finished_at", "carrier"])
            elif attempt.method is None or not attempt.method.is_active:
                attempt.error = "the contact method was removed or switched off"
                outcomes.fail(attempt, Attempt.SKIPPED, rec)
            else:
                ready.append(attempt)
        # A send not answered within the lease is taken again (the process died mid-send).
        lease = now + timedelta(seconds=settings.TOCSIN_SEND_LEASE_SECONDS)
        catalogue, recent, templates = Catalogue(), bundling.Recent(ready, now), rendering.Templates()
        sendings, claimed, token_rows = [], [], []
        for carrier, carried in bundling.groups(ready):
            hold = recent.hold_until(carrier, carried)
            if hold is not None and hold > now:
                Attempt.objects.filter(pk__in=[a.pk for a in (carrier, *carried)]).update(
                    status=Attempt.SCHEDULED, due_at=hold, claimed_until=None, carrier=None)
                rec.wakeups.add(hold)
                continue
            message, rendered = messages.build(carrier, carried, now, token_rows, templates)
            carrier.status, carrier.claimed_until, carrier.tries = Attempt.SENDING, lease, carrier.tries + 1
            carrier.subject, carrier.body = rendered.subject[:300], rendered.text
            claimed.append(carrier)
            if carried:
                Attempt.objects.filter(pk__in=[a.pk for a in carried]).update(
                    status=Attempt.SENDING, claimed_until=lease, carrier=carrier, subject=carrier.subject)
            sendings.append(Sending(carrier.pk, lease, message,
                                    catalogue.candidates(carrier.channel, carrier.method.value), catalogue.limits, now,
                                    carries=bool(carried)))
        insert_each(AckToken, token_rows)
        update_each(Attempt, claimed, CLAIM_FIELDS)
        if sendings:
            rec.wakeups.add(lease + timedelta(seconds=1))  # to take them again if this process dies
        if len(due) == size:
            rec.wakeups.add(now)  # more may be due: another run at once, after the jobs due meanwhile
        rec.flush()
        transaction.on_commit(lambda: pool.submit(sendings))
    return len(due)


def record(answers, now):
    """The pool's answers, in one transaction; an answer whose claim has lapsed is dropped (the
    attempt was taken again, or cancelled)."""
    with transaction.atomic():
        ids = [a.sending.attempt_id for a in answers]
        rows = Attempt.objects.filter(pk__in=ids, status=Attempt.SENDING).select_related("person")
        if connection.vendor == "postgresql":
            rows = rows.select_for_update(of=("self",))
        attempts = {a.pk: a for a in _share_incidents(list(rows))}
        rec, answered = outcomes.Recorder(now), []
        for answer in answers:
            attempt = attempts.get(answer.sending.attempt_id)
            if attempt is None or attempt.claimed_until != answer.sending.lease:
                continue
            outcomes.record_send(attempt, answer.outcome, provider=answer.provider, failover_from=answer.failover_from,
                                 latency_ms=answer.latency_ms, rec=rec, carries=answer.sending.carries)
            answered.append(attempt)
        update_each(Attempt, answered, ANSWER_FIELDS)
        rec.flush()


def record_provider_status(provider_message_id, status, error_code="", at=None):
    """A provider's status callback (Twilio's MessageStatus or CallStatus); returns whether it
    changed anything. Unknown ids change nothing."""
    from django.utils import timezone

    now = at or timezone.now()
    if not provider_message_id:
        return False
    with transaction.atomic():
        rows = Attempt.objects.filter(provider_message_id=provider_message_id).select_related("incident", "person")
        if connection.vendor == "postgresql":
            rows = rows.select_for_update(of=("self",))
        attempt = rows.first()
        if attempt is None:
            return False
        rec = outcomes.Recorder(now)
        error = f"provider error {error_code}" if error_code else ""
        changed = outcomes.provider_status(attempt, (status or "").strip().lower(), error, rec)
        rec.flush()
    return changed
