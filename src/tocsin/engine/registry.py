"""Job kinds: apps register a handler per kind, and the periodic jobs they need. The engine
knows no domain; it only looks handlers up here."""

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Handler:
    kind: str
    run: object  # run(payload, context), or with many=True run([(payload, context)]); inside the
    # transaction that completes the job(s)
    max_attempts: int = 8
    many: bool = False
    coalescing: bool = False
    transactional: bool = True


@dataclass(frozen=True)
class Periodic:
    kind: str
    every: timedelta
    enabled: object = None  # () -> bool, read when the engine starts; None means always


_handlers = {}
_periodic = {}


def handler(kind, *, max_attempts=8, many=False, coalescing=False, transactional=True):
    """Decorator: `@handler("escalation.step")` on `def step(payload, context)`. A handler must be
    idempotent in its effects: it may run again after a crash or a lost lease. With `many=True`
    the handler takes every claimed job of its kind at once, `[(payload, context)]`, so it can
    write their effects in bulk; if it fails, each job is run again alone.

    With `coalescing=True` the job's key merges only the runs still waiting: a claim releases the
    key, so scheduling again while a run is under way queues one more run, which sees whatever
    the running one could not (work committed by others meanwhile). For "look at what is new"
    jobs, where a wake-up must never be lost.

    With `transactional=False` the handler runs outside the transaction that completes the job:
    for sends to the outside world (a webhook, a provider), which must not hold a database lock
    while they wait on the network. Such a handler is at-least-once: a crash between the send and
    the completion sends again (DESIGN: delivery guarantee)."""

    def register(fn):
        if many and not transactional:
            raise ValueError("a job kind is either run in batches or outside a transaction, not both")
        _handlers[kind] = Handler(kind, fn, max_attempts, many, coalescing, transactional)
        return fn

    return register


def every(kind, interval, *, enabled=None):
    """Run the handler of `kind` every `interval`, starting when the engine starts."""
    _periodic[kind] = Periodic(kind, interval, enabled)


def lookup(kind):
    return _handlers.get(kind)


def coalescing_kinds():
    return [kind for kind, found in _handlers.items() if found.coalescing]


def periodic():
    return dict(_periodic)
