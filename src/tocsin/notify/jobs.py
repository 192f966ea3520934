"""Engine handlers of the notify app: dispatching the outbox, the sending runs, and the providers'
health checks."""

import asyncio
import logging
from datetime import timedelta

import httpx
from django.utils import timezone

from tocsin.engine import queue
from tocsin.engine.registry import every, handler

from . import dispatch, sending, wakeups
from .models import Provider
from .provider_choice import Catalogue
from .providers.base import TIMEOUT

log = logging.getLogger("tocsin.notify")
DISPATCH_JOB = "notify.dispatch"
HEALTH_JOB = "notify.health"


def request_dispatch(at):
    queue.schedule(DISPATCH_JOB, due_at=at, key=DISPATCH_JOB)


@handler(DISPATCH_JOB, coalescing=True)
def dispatch_requests(payload, context):
    if dispatch.dispatch(context.now) == dispatch.BATCH:
        request_dispatch(context.now)  # more waiting: another run, after the jobs due meanwhile


# Outside the job's transaction: sending.send_due commits its claim itself, and the sends go on in
# the pool after the job is done.
@handler(wakeups.SEND_JOB, coalescing=True, transactional=False, max_attempts=20)
def send_due(payload, context):
    sending.send_due(context.now)


@handler(HEALTH_JOB)
def check_health(payload, context):
    """Ask each enabled provider whether it is usable; failover puts unhealthy ones last."""
    rows = list(Provider.objects.filter(enabled=True))
    if not rows:
        return
    catalogue = Catalogue()
    made = {p.config.name: p for found in catalogue.by_channel.values() for p in found}

    async def ask_all():
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            async def ask(row):
                provider = made.get(row.name)
                if provider is None:
                    return row, "not usable"
                try:
                    return row, await asyncio.wait_for(provider.check(client), 15)
                except Exception as exc:
                    return row, f"{type(exc).__name__}"[:300]
            return await asyncio.gather(*(ask(row) for row in rows))

    now = timezone.now()
    for row, problem in asyncio.run(ask_all()):
        Provider.objects.filter(pk=row.pk).update(healthy=not problem, health_error=problem[:300],
                                                  health_checked_at=now)


def register():
    every(HEALTH_JOB, timedelta(minutes=1))


sending.pool.record = lambda answers: sending.record(answers, max(a.sending.now() for a in answers))
