"""Heartbeats (E1, ER2): a dead-man switch per integration; a missed ping opens an alert.

Each ping moves `expected_by` on and replaces the pending engine job that checks it. The job
looks at the heartbeat again when it runs: a ping that came meanwhile (or a job that outlived its
cancellation) makes it do nothing, so running it twice, or late, is harmless."""

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.db import connection, transaction
from django.db.models.signals import post_save
from django.utils import timezone

from tocsin.engine import queue
from tocsin.engine.registry import handler

from . import routing
from .events import RESOLVE, TRIGGER, Event
from .models import Heartbeat, Integration
from .store import store_events

log = logging.getLogger("tocsin.alerts")
MISSED_JOB = "alerts.heartbeat_missed"
SOURCE = "heartbeat"
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="alerts-heartbeat")


def job_key(integration_id):
    return f"{MISSED_JOB}:{integration_id}"


def dedup_key(integration_id):
    return f"heartbeat:{integration_id}"


def _deadline(heartbeat, since):
    return since + timedelta(seconds=heartbeat.interval_seconds + heartbeat.grace_seconds)


def _watch(heartbeat, expected_by):
    """Move the pending check of this heartbeat to `expected_by` (one job row, however often it pings)."""
    queue.reschedule(MISSED_JOB, key=job_key(heartbeat.integration_id), due_at=expected_by,
                     payload={"integration": heartbeat.integration_id})


def start_clock(heartbeat):
    """Expect the next ping within interval + grace of the last one, or of the integration's
    creation when it was never pinged; replaces the pending check."""
    since = heartbeat.last_ping_at or heartbeat.integration.created_at or timezone.now()
    heartbeat.expected_by = _deadline(heartbeat, since)
    Heartbeat.objects.filter(pk=heartbeat.pk).update(expected_by=heartbeat.expected_by)
    _watch(heartbeat, heartbeat.expected_by)


TIMING = {"interval_seconds", "grace_seconds"}


def _saved(sender, instance, created, raw=False, update_fields=None, **kwargs):
    # A new heartbeat starts its clock; a changed interval or grace moves the pending check.
    if not raw and (created or TIMING & set(update_fields or ())):
        start_clock(instance)


post_save.connect(_saved, sender=Heartbeat, dispatch_uid="alerts.heartbeat_saved")


def _event(heartbeat, action, summary="", details=""):
    integration = heartbeat.integration
    event = Event(action=action, dedup_key=dedup_key(integration.pk), severity="critical", summary=summary,
                  source=SOURCE, details={"details": details} if details else {}, raw={"heartbeat": integration.pk})
    return routing.bind([event], integration)[0]


def ping(integration_id, now=None):
    """Record a ping: the next one is due within interval + grace; a missing heartbeat recovers."""
    now = now or timezone.now()
    with transaction.atomic():
        heartbeat = (Heartbeat.objects.select_for_update(of=("self",)).select_related("integration")
                     .filter(integration_id=integration_id).first())
        if heartbeat is None:  # an integration made before its heartbeat row: make it now
            Heartbeat.objects.get_or_create(integration_id=integration_id)
            heartbeat = (Heartbeat.objects.select_for_update(of=("self",)).select_related("integration")
                         .get(integration_id=integration_id))
        if heartbeat.missing:
            store_events([_event(heartbeat, RESOLVE)], now)
        heartbeat.last_ping_at, heartbeat.missing = now, False
        heartbeat.expected_by = _deadline(heartbeat, now)
        heartbeat.save(update_fields=["last_ping_at", "missing", "expected_by"])
        _watch(heartbeat, heartbeat.expected_by)
    return {"status": "ok", "next_expected_by": heartbeat.expected_by.isoformat()}


def _ping_in_thread(integration_id):
    try:
        return ping(integration_id)
    finally:
        connection.close()  # a pool thread: leave no connection behind for the next caller


async def ping_async(info):
    """`GET|POST /integrations/<key>/heartbeat`, from the ingestion fast path."""
    return await asyncio.get_running_loop().run_in_executor(_pool, _ping_in_thread, info.id)


def missed(integration_id, now):
    """The check due at `expected_by`: open the alert if no ping came. Returns whether it did."""
    heartbeat = (Heartbeat.objects.select_for_update(of=("self",)).select_related("integration")
                 .filter(integration_id=integration_id).first())
    if heartbeat is None or not heartbeat.integration.enabled or heartbeat.integration.kind != Integration.HEARTBEAT:
        return False
    if heartbeat.missing or heartbeat.expected_by is None or heartbeat.expected_by > now:
        return False  # already alerted, or a ping came since this check was scheduled
    since = heartbeat.last_ping_at
    when = f"{since:%Y-%m-%d %H:%M:%S} UTC" if since else "it was set up"
    summary = f"Heartbeat {heartbeat.integration.name} missed: no ping since {when}"
    details = (f"Expected a ping every {heartbeat.interval_seconds} s (with {heartbeat.grace_seconds} s of grace); "
               f"none came by {heartbeat.expected_by:%Y-%m-%d %H:%M:%S} UTC.")
    store_events([_event(heartbeat, TRIGGER, summary, details)], now)
    heartbeat.missing = True
    heartbeat.save(update_fields=["missing"])
    return True


@handler(MISSED_JOB, max_attempts=20)
def heartbeat_missed(payload, context):
    missed(payload["integration"], context.now)
