"""Scheduling and cancelling jobs. Scheduling is part of the caller's transaction, and workers
are woken when it commits: in this process through the registered wakers, across processes
on Postgres through NOTIFY (delivered by Postgres at commit)."""

from django.db import connection, transaction
from django.utils import timezone

from tocsin.core import audit

from .models import Job
from .registry import lookup

CHANNEL = "tocsin_engine"
FINISHED_DAYS = 7
_wakers = []


def add_waker(wake):
    """`wake()` is called (from any thread) after a transaction that scheduled a job commits."""
    _wakers.append(wake)


def remove_waker(wake):
    if wake in _wakers:
        _wakers.remove(wake)


def _wake_all():
    if not _wakers:
        from .doorbell import ring

        ring()  # the engine of this SQLite database runs in another process
    for wake in list(_wakers):
        wake()


def announce():
    """Wake the workers once the current transaction commits."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {CHANNEL}")
    transaction.on_commit(_wake_all, robust=True)  # (a failed wake-up must not look like a failed commit)


def schedule(kind, *, due_at=None, payload=None, key=None):
    """Add a job. With a `key` that is already pending, nothing is added (idempotent scheduling)."""
    handler = lookup(kind)
    if handler is None:
        raise LookupError(f"No engine handler is registered for job kind '{kind}'.")
    job = Job(kind=kind, payload=payload or {}, key=key, due_at=due_at or timezone.now(),
              max_attempts=handler.max_attempts)
    if key is None:
        job.save(force_insert=True)
    elif not _insert_unless_pending(job):
        return  # the pending job of that key is known to the workers already: no wake-up
    announce()


def _insert_unless_pending(job):
    """Insert `job` unless a job with its key is pending; whether it was inserted. (A job being
    run has released its key, so a key scheduled during a run is added, never lost.)"""
    fields = [f for f in Job._meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(getattr(job, f.attname), connection) for f in fields]
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(Job._meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
           f" VALUES ({', '.join(['%s'] * len(fields))})"
           f" ON CONFLICT ({quote('key')}) WHERE {quote('state')} = 'pending' DO NOTHING RETURNING id")
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return cursor.fetchone() is not None


def schedule_many(jobs):
    """Add many jobs at once: an iterable of (kind, due_at, payload, key). Pending keys are kept."""
    rows = []
    for kind, due_at, payload, key in jobs:
        handler = lookup(kind)
        if handler is None:
            raise LookupError(f"No engine handler is registered for job kind '{kind}'.")
        rows.append(Job(kind=kind, payload=payload or {}, key=key, due_at=due_at, max_attempts=handler.max_attempts))
    Job.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    announce()
    return len(rows)


def reschedule(kind, *, key, due_at, payload=None):
    """Move the waiting job of `key` to `due_at` (with `payload`), or add it: one row per key
    however often it moves, as for a heartbeat's next check. A job of that key being run right
    now is cancelled and replaced instead."""
    waiting = Job.objects.filter(key=key, state=Job.PENDING, claimed_until__isnull=True)
    if waiting.update(due_at=due_at, payload=payload or {}):
        announce()
        return
    cancel(key)
    schedule(kind, due_at=due_at, payload=payload, key=key)


def cancel(*keys):
    """Cancel the pending jobs with these keys. A job being run right now is not stopped: its
    handler must find that its work is no longer wanted (handlers check state, not only keys)."""
    now = timezone.now()
    return Job.objects.filter(key__in=keys, state=Job.PENDING).update(state=Job.CANCELLED, finished_at=now)


def retry_dead(job_ids, *, actor, now=None):
    """Put dead-letter jobs back in the queue, due now, with a fresh attempt count (audited)."""
    now = now or timezone.now()
    with transaction.atomic():
        count = 0
        for job in Job.objects.filter(pk__in=job_ids, state=Job.DEAD):
            if job.key and Job.objects.filter(key=job.key, state=Job.PENDING).exists():
                continue  # a newer job with the same key is pending already
            Job.objects.filter(pk=job.pk).update(state=Job.PENDING, attempts=0, due_at=now, claimed_by="",
                                                 claimed_until=None, finished_at=None)
            count += 1
        if count:
            announce()
        audit.record(actor, "engine.retry_dead", summary={"jobs": list(job_ids)[:100], "retried": count})
    return count


def purge_finished(cutoff, *, actor, dry_run):
    """Retention: finished and cancelled jobs older than the cutoff. Dead letters stay until
    someone looks at them."""
    rows = Job.objects.filter(state__in=[Job.DONE, Job.CANCELLED], finished_at__lt=cutoff)
    return rows.count() if dry_run else rows.delete()[0]
