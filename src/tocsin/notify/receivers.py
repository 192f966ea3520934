"""Notify follows incidents and escalation through their signals (the ladder points down). The
requests still pending are escalation's to cancel; the attempts already planned are ours."""

import logging

from tocsin.engine import signals as engine_signals
from tocsin.escalation import signals as escalation_signals
from tocsin.incidents import signals as incident_signals

from . import dispatch, links
from .dispatch import UNTIL_ACKNOWLEDGED
from .jobs import request_dispatch
from .models import Attempt
from .pool import pool

log = logging.getLogger("tocsin.notify")


def _requested(sender, at, **kwargs):
    """New pages become attempts in the transaction that wrote them: one engine round less
    between an incident and its first message. What one batch cannot take waits for the job."""
    try:
        taken = dispatch.dispatch(at)  # (in a savepoint of its own)
    except Exception:  # escalation must go on whatever goes wrong here: the job retries it
        log.exception("dispatching new pages failed; the dispatch job takes them")
        taken = dispatch.BATCH
    if taken == dispatch.BATCH:
        request_dispatch(at)


def _waiting(incident):
    return Attempt.objects.filter(incident_id=incident.pk, status=Attempt.SCHEDULED)


def _acknowledged(sender, incident, at, **kwargs):
    """Acknowledged anywhere: no more pages (a send under way finishes); an added responder's
    notification still goes out."""
    _waiting(incident).filter(request__reason__in=UNTIL_ACKNOWLEDGED).update(status=Attempt.CANCELLED,
                                                                              finished_at=at)


def _resolved(sender, incident, at, **kwargs):
    _waiting(incident).update(status=Attempt.CANCELLED, finished_at=at)


def _engine_starting(sender, **kwargs):
    links.warm()
    pool.start()


def connect():
    engine_signals.engine_starting.connect(_engine_starting, dispatch_uid="notify.engine_starting")
    escalation_signals.notifications_requested.connect(_requested, dispatch_uid="notify.requested")
    incident_signals.acknowledged.connect(_acknowledged, dispatch_uid="notify.acknowledged")
    incident_signals.resolved.connect(_resolved, dispatch_uid="notify.resolved")
