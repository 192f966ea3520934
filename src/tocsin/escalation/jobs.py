"""Escalation work the engine runs: steps, resolution deadlines, ack timeouts, the quarterly audit."""

from datetime import datetime

from tocsin.engine.registry import handler
from tocsin.incidents.models import Incident
from tocsin.incidents.services import unacknowledge
from tocsin.incidents.services.engine_entries import ENGINE

from . import stepping


@handler("escalation.step", many=True)
def step(items):
    """Every due step claimed together is stepped together (effects written in bulk)."""
    stepping.perform_steps([(payload["escalation"], payload["seq"]) for payload, _ in items], items[0][1].now)


@handler("escalation.deadline")
def deadline(payload, context):
    stepping.perform_deadline(payload["escalation"], payload["run"], payload["index"], context.now)


@handler("escalation.ack_timeout")
def ack_timeout(payload, context):
    """Acknowledged but unresolved for the service's ack timeout: trigger and escalate again."""
    incident = Incident.objects.filter(pk=payload["incident"]).first()
    if incident is None or incident.status != Incident.ACKNOWLEDGED:
        return
    if incident.acknowledged_at != datetime.fromisoformat(payload["acknowledged_at"]):
        return  # acknowledged again since; that acknowledgement has its own timeout
    if incident.snoozed_until is not None:
        return  # snoozed: the snooze says when it triggers again
    unacknowledge(incident, actor=ENGINE, at=context.now,
                  reason=f"acknowledged for {payload['minutes']} min without being resolved")
