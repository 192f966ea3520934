"""When the sender must run: one engine job per distinct instant some attempt falls due (keyed by
the instant, so scheduling it twice adds nothing, and never early)."""

from tocsin.engine import queue

SEND_JOB = "notify.send"


def at(instants):
    jobs = [(SEND_JOB, due, {}, f"{SEND_JOB}@{due.isoformat()}") for due in sorted(set(instants))]
    if jobs:
        queue.schedule_many(jobs)
