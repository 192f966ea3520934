"""The processor: turns what the ingestion writer stored into incidents, in the engine.

It takes the alerts marked dirty: new alerts go through the pipeline (suppression, holding,
correlation, grouping) and otherwise open an incident at once; acknowledged and resolved alerts
move their incident when every alert of it agrees (DESIGN: incident scope).

It works in small transactions (a few alerts each), so an incident's first page is committed,
and due, at once, and on SQLite the ingestion writer is never kept from the database for long.
One processor runs at a time: on PostgreSQL, where several engines may each run one, a
transaction-level advisory lock serialises them (two would otherwise both open an incident for
one group)."""

import logging
import time
from datetime import timedelta

import orjson
from django.db import connection, transaction

from tocsin.core.audit import Actor
from tocsin.engine import queue
from tocsin.incidents.models import Incident
from tocsin.incidents.services import acknowledge, resolve, trigger_incident
from tocsin.incidents.services.lifecycle import MAX_TITLE

from . import enrichment, flood, pipeline
from .models import Alert, ServiceAlertSettings
from .stages.correlation import attach_symptom
from .store import PROCESS_JOB

BATCH = 200  # alerts per run; the job schedules itself again when there are more
CHUNK = 8  # alerts per transaction
TIME_BUDGET = timedelta(seconds=5)  # per run, so other jobs get their turn
PROCESSOR_LOCK = 0x70C5_A1E7
RETRY_AFTER = timedelta(minutes=1)
log = logging.getLogger("tocsin.alerts")
INTEGRATION = Actor.system("integration")


def settings_for(service_ids):
    found = {s.service_id: s for s in ServiceAlertSettings.objects.filter(service_id__in=service_ids)}
    return {pk: found.get(pk) or ServiceAlertSettings(service_id=pk) for pk in service_ids}


def details_text(alert, limit=4000):
    """The alert's details as the incident's readable text: `name: value` lines."""
    lines = []
    for name, value in (alert.details or {}).items():
        shown = value if isinstance(value, str) else orjson.dumps(value).decode()
        lines.append(f"{name}: {shown}")
    return "\n".join(lines)[:limit]


def title(alert):
    text = " ".join((alert.summary or "").split()) or alert.dedup_key
    return text if len(text) <= MAX_TITLE else text[:MAX_TITLE - 1] + "…"


def incident_source(alert):
    if alert.source == "manual":  # a report by a person (E8)
        return "manual"
    return alert.integration.kind if alert.integration_id else "alert"


def open_incident(alert, now):
    incident = trigger_incident(
        alert.service, title(alert), actor=INTEGRATION, details=details_text(alert),
        urgency=alert.urgency, source=incident_source(alert),
        alert_key=alert.dedup_key, at=now,
        security_category=enrichment.security_category(alert) if alert.security else None)
    enrichment.enrich(incident, alert, now)
    return incident


def still_open(incident):
    """Lock the incident a later alert is to join; None if it was closed meanwhile (then the alert
    opens an incident of its own rather than join one nobody will page for)."""
    return Incident.objects.select_for_update().filter(pk=incident.pk, status__in=Incident.OPEN).first()


def handle_new(alert, settings, now):
    decision = pipeline.decide(alert, settings, now)
    if decision is not None and decision.incident is not None:
        decision.incident = still_open(decision.incident)
        if decision.incident is None:
            decision = None
    if decision is None:
        alert.incident = open_incident(alert, now)
        alert.handling, alert.reason = Alert.PAGED, ""
        return
    alert.handling, alert.reason = decision.handling, decision.reason[:255]
    if decision.incident is not None:
        alert.incident = decision.incident
        enrichment.joined(decision.incident, alert, decision, now)
        if decision.handling == Alert.CORRELATED:
            attach_symptom(decision.incident, alert, now)
    if decision.recheck_at is not None:
        queue.schedule("alerts.recheck", due_at=decision.recheck_at, payload={"alert": alert.pk},
                       key=f"alerts.recheck:{alert.pk}")


def follow_alert(alert, now):
    """An alert of an incident changed: move the incident when all of its alerts agree."""
    incident = Incident.objects.get(pk=alert.incident_id)
    if incident.status == Incident.RESOLVED:
        return
    statuses = set(Alert.objects.filter(incident_id=incident.pk).values_list("status", flat=True))
    if statuses == {Alert.RESOLVED}:
        settings = settings_for([incident.service_id])[incident.service_id]
        if settings.resolve_with_alerts:
            resolve(incident, actor=INTEGRATION, at=now)
    elif Alert.TRIGGERED not in statuses and incident.status == Incident.TRIGGERED:
        acknowledge(incident, actor=INTEGRATION, via="integration", at=now)


def handle(alert, settings, now):
    if alert.service_id is None:
        return
    if alert.incident_id is None and alert.status == Alert.TRIGGERED:
        # (suppressed or held alerts acknowledged or resolved at their source page nobody)
        handle_new(alert, settings[alert.service_id], now)
    elif alert.incident_id is not None and alert.status != Alert.TRIGGERED:
        follow_alert(alert, now)


def _failed(alert, before, now):
    log.exception("processing alert %s failed", alert.pk)
    alert.incident_id, alert.handling, alert.sustain = before
    if alert.incident_id is None:
        alert.reason = "processing failed; retrying"
    # Looked at again in a minute; one alert must not hold up the others.
    queue.schedule("alerts.recheck", due_at=now + RETRY_AFTER, payload={"alert": alert.pk},
                   key=f"alerts.recheck:{alert.pk}")


def process_chunk(now, size):
    """One transaction: up to `size` dirty alerts, oldest first; returns how many."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PROCESSOR_LOCK])
        flood.absorb(settings_for, now)
        alerts = list(Alert.objects.select_for_update(of=("self",)).filter(dirty=True)
                      .select_related("service", "integration").order_by("id")[:size])
        settings = settings_for({a.service_id for a in alerts if a.service_id})
        for alert in alerts:
            before = (alert.incident_id, alert.handling, alert.sustain)
            try:
                with transaction.atomic():
                    handle(alert, settings, now)
            except Exception:
                _failed(alert, before, now)
            # Written at once, so later alerts see it (grouping, correlation).
            Alert.objects.filter(pk=alert.pk).update(dirty=False, incident=alert.incident_id, handling=alert.handling,
                                                     reason=alert.reason, sustain=alert.sustain)
    return len(alerts)


def process(now, batch=BATCH, chunk=CHUNK):
    """Handle up to `batch` dirty alerts (and at most TIME_BUDGET of work) in transactions of
    `chunk`; schedules another run when some may be left. Returns how many were handled."""
    done, started = 0, time.monotonic()
    while done < batch:
        wanted = min(chunk, batch - done)
        handled = process_chunk(now, wanted)
        done += handled
        if handled < wanted:
            return done  # nothing left
        if time.monotonic() - started > TIME_BUDGET.total_seconds():
            break
    queue.schedule(PROCESS_JOB, due_at=now, key=PROCESS_JOB)
    return done
