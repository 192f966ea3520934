"""Incident work the engine runs: the end of a snooze."""

from datetime import datetime

from tocsin.engine.registry import handler

from .models import Incident
from .services import unacknowledge
from .services.engine_entries import ENGINE


@handler("incidents.snooze_end")
def snooze_end(payload, context):
    """Re-trigger if the incident is still acknowledged under this very snooze."""
    incident = Incident.objects.filter(pk=payload["incident"]).first()
    until = datetime.fromisoformat(payload["until"])
    if incident is None or incident.status != Incident.ACKNOWLEDGED or incident.snoozed_until != until:
        return  # resolved, re-acknowledged or snoozed again since: nothing to do
    unacknowledge(incident, actor=ENGINE, reason="snooze ended", at=context.due_at)
