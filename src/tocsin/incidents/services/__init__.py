"""Incident use cases; each runs in a transaction, takes the actor explicitly, and writes the
audit log (human and token actions) and the incident timeline."""

from .lifecycle import acknowledge, resolve, snooze, trigger_incident, unacknowledge  # noqa: F401
from .response import add_note, add_responders, complete_security_review, escalate_now, reassign  # noqa: F401
from .engine_entries import add_paged, assign_unowned, engine_entry, flag_unpaged, record_entries, record_entry  # noqa: F401,E501
