"""Claiming and running due jobs. Pure in its clock: `now` is always passed in.

A claim commits a lease (claimed_by, claimed_until) and counts the attempt. Each job claimed is
then run in a transaction of its own (the jobs of a `many` kind together), and marked done *in
that same transaction* only if the lease is still ours. So a job's database effects and its
completion commit together or not at all: a worker killed mid-job leaves the lease to expire and
another worker retakes the job, and a worker whose lease was taken over does its work for nothing.
A kind registered with `transactional=False` (sends to the outside world) runs outside that
transaction instead, and is marked done after it: at least once, not exactly once."""

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q

from . import queue, signals
from .models import Job
from .registry import coalescing_kinds, lookup, periodic

log = logging.getLogger("tocsin.engine")
BACKOFF_BASE = timedelta(seconds=2)
BACKOFF_CAP = timedelta(minutes=15)
ERROR_LIMIT = 2000


@dataclass(frozen=True)
class Context:
    """What a handler learns about the job it runs."""

    job_id: int
    kind: str
    key: str | None
    due_at: datetime
    attempt: int
    now: datetime


def _claimable(now):
    return Q(state=Job.PENDING, due_at__lte=now) & (Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))


def claim(worker, now, lease, limit):
    """Lease up to `limit` due jobs to `worker`, oldest due first. SKIP LOCKED lets several
    workers on Postgres claim side by side; on SQLite the IMMEDIATE transaction serialises."""
    with transaction.atomic():
        rows = Job.objects.filter(_claimable(now)).order_by("due_at", "pk")
        ids = list(rows.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        Job.objects.filter(pk__in=ids).update(claimed_by=worker, claimed_until=now + lease,
                                              attempts=F("attempts") + 1)
        Job.objects.filter(pk__in=ids, kind__in=coalescing_kinds(), key__isnull=False).update(key=None)
        return list(Job.objects.filter(pk__in=ids, claimed_by=worker).order_by("due_at", "pk"))


def run_claimed(jobs, worker, now, *, stopping=lambda: False):
    """Run claimed jobs, each in its own transaction (the jobs of a `many` kind together in one).
    `now` is an instant, or a clock read as each job starts. Returns (jobs not started because
    `stopping()` turned true, which the caller releases; [(job, outcome)])."""
    clock = now if callable(now) else (lambda: now)
    outcomes = []
    left = []
    done = set()
    for index, job in enumerate(jobs):
        if job.pk in done:
            continue
        if stopping():
            left = [j for j in jobs[index:] if j.pk not in done]
            break
        handler = lookup(job.kind)
        if handler is not None and handler.many:
            together = [j for j in jobs[index:] if j.kind == job.kind and j.pk not in done]
            found = _run_many(together, handler, worker, clock())
        else:
            found = [(job, _run_one(job, worker, clock()))]
        outcomes += found
        done.update(j.pk for j, _ in found)
    return left, outcomes


def _context(job, now):
    return Context(job.pk, job.kind, job.key, job.due_at, job.attempts, now)


def _run_many(jobs, handler, worker, now):
    """Jobs of one kind run by one call; if it fails, each is run alone so the others complete."""
    try:
        with transaction.atomic():
            held = set(Job.objects.filter(pk__in=[j.pk for j in jobs], state=Job.PENDING, claimed_by=worker)
                       .values_list("pk", "attempts"))
            mine = [j for j in jobs if (j.pk, j.attempts) in held]
            Job.objects.filter(pk__in=[j.pk for j in mine]).update(
                state=Job.DONE, finished_at=now, claimed_until=None, last_error="")
            if mine:
                handler.run([(j.payload, _context(j, now)) for j in mine])
        return [(j, "done" if j in mine else "lost") for j in jobs]
    except Exception:
        log.warning("a batch of jobs failed; running them one by one", extra={"kind": handler.kind})
        return [(j, _run_one(j, worker, now)) for j in jobs]


def _still_ours(job, worker):
    return Job.objects.filter(pk=job.pk, state=Job.PENDING, claimed_by=worker, attempts=job.attempts)


def _run_outside_transaction(job, handler, worker, now):
    if not _still_ours(job, worker).exists():
        return "lost"
    handler.run(job.payload, _context(job, now))
    with transaction.atomic():
        if not _still_ours(job, worker).update(state=Job.DONE, finished_at=now, claimed_until=None, last_error=""):
            return "lost"  # done all the same; the worker that took over may send again
        _schedule_next_period(job, now)
    return "done"


def _run_one(job, worker, now):
    handler = lookup(job.kind)
    try:
        if handler is not None and not handler.transactional:
            return _run_outside_transaction(job, handler, worker, now)
        with transaction.atomic():
            finished = _still_ours(job, worker).update(
                state=Job.DONE, finished_at=now, claimed_until=None, last_error="")
            if not finished:
                return "lost"  # our lease ran out and another worker has it now
            if handler is None:
                raise LookupError(f"no handler is registered for job kind '{job.kind}'")
            if handler.many:
                handler.run([(job.payload, _context(job, now))])
            else:
                handler.run(job.payload, _context(job, now))
            _schedule_next_period(job, now)
        return "done"
    except Exception as exc:  # a handler's failure is data: retried, then a dead letter
        return _record_failure(job, worker, now, exc)


def _record_failure(job, worker, now, exc):
    error = f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT]
    log.warning("job failed", extra={"kind": job.kind, "job": job.pk, "attempt": job.attempts,
                                     "error": type(exc).__name__})
    rows = Job.objects.filter(pk=job.pk, state=Job.PENDING, claimed_by=worker, attempts=job.attempts)
    if job.attempts >= job.max_attempts:
        with transaction.atomic():
            if not rows.update(state=Job.DEAD, finished_at=now, claimed_by="", claimed_until=None, last_error=error):
                return "lost"
            # A periodic job keeps its period: the dead letter shows the failure, the next run may work.
            _schedule_next_period(job, now)
            signals.job_dead.send_robust(Job, kind=job.kind, payload=job.payload, error=type(exc).__name__, at=now)
        return "dead"
    rows.update(due_at=now + backoff(job.attempts), claimed_by="", claimed_until=None, last_error=error)
    return "retry"


def backoff(attempt, rng=random):
    """Exponential, capped, with jitter: 2 s, 4 s, 8 s … each between half and the full value."""
    full = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempt - 1)))
    return full * (0.5 + rng.random() / 2)


def _schedule_next_period(job, now):
    every = periodic().get(job.kind)
    if every is None or job.key != periodic_key(job.kind):
        return
    due = job.due_at + every.every
    if due <= now:  # after an outage (or a failure) run once a period from now, not once per missed one
        due = now + every.every
    Job.objects.create(kind=job.kind, key=job.key, due_at=due, payload=job.payload, max_attempts=job.max_attempts)
    queue.announce()


def periodic_key(kind):
    return f"every:{kind}"


def ensure_periodic(now):
    """Make sure each enabled periodic job is pending (the first run is due now)."""
    rows = []
    for kind, every in periodic().items():
        if every.enabled is not None and not every.enabled():
            continue
        handler = lookup(kind)
        rows.append(Job(kind=kind, key=periodic_key(kind), due_at=now, max_attempts=handler.max_attempts))
    Job.objects.bulk_create(rows, ignore_conflicts=True)


def release(jobs, worker):
    """Give back claimed jobs that were not started (on shutdown): due as before, attempt uncounted."""
    for job in jobs:
        Job.objects.filter(pk=job.pk, state=Job.PENDING, claimed_by=worker, attempts=job.attempts).update(
            claimed_by="", claimed_until=None, attempts=F("attempts") - 1)


def next_wake(now):
    """When something may next be claimable: the earliest due job, or the earliest lease that ends.
    Each read walks a partial index from its low end, so it costs the same however long the queue."""
    pending = Job.objects.filter(state=Job.PENDING)
    due = (pending.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)).order_by("due_at")
           .values_list("due_at", flat=True).first())
    lease = pending.filter(claimed_until__gt=now).order_by("claimed_until").values_list("claimed_until", flat=True).first()
    times = [t for t in (due, lease) if t is not None]
    return min(times) if times else None
