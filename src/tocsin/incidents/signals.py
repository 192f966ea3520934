"""Incident events for the apps above (escalation, notifications). They are sent inside the
transaction that changes the incident, so what listeners write commits with it, or not at all."""

from django.dispatch import Signal

# incident=, at=
triggered = Signal()
# incident=, at=, actor=, via=
acknowledged = Signal()
# incident=, at=, actor=, reason= : acknowledged → triggered again (snooze ended, ack timeout, by hand)
retriggered = Signal()
# incident=, at=, actor=
resolved = Signal()
# incident=, at=, actor=, person=
reassigned = Signal()
# incident=, at=, actor= : page the next tier now
escalation_requested = Signal()
# incident=, at=, actor=, targets= ([Person | OrgRole | Schedule]), message=
responders_requested = Signal()
