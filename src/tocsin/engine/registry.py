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


@dataclass(frozen=True)
class Periodic:
    kind: str
    every: timedelta
    enabled: object = None  # () -> bool, read when the engine starts; None means always


_handlers = {}
_periodic = {}


def handler(kind, *, max_attempts=8, many=False):
    """Decorator: `@handler("escalation.step")` on `def step(payload, context)`. A handler must be
    idempotent in its effects: it may run again after a crash or a lost lease. With `many=True`
    the handler takes every claimed job of its kind at once, `[(payload, context)]`, so it can
    write their effects in bulk; if it fails, each job is run again alone."""

    def register(fn):
        _handlers[kind] = Handler(kind, fn, max_attempts, many)
        return fn

    return register


def every(kind, interval, *, enabled=None):
    """Run the handler of `kind` every `interval`, starting when the engine starts."""
    _periodic[kind] = Periodic(kind, interval, enabled)


def lookup(kind):
    return _handlers.get(kind)


def periodic():
    return dict(_periodic)
