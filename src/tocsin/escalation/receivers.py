"""Escalation follows the incident's life through the incidents app's signals (the ladder points
down, so incidents never import escalation)."""

from tocsin.engine import signals as engine_signals
from tocsin.incidents import signals

from . import stepping
from .models import NotificationRequest
from .targets import resolve_objects


def _triggered(sender, incident, at, **kwargs):
    stepping.start(incident, at)


def _acknowledged(sender, incident, at, **kwargs):
    stepping.pause(incident, at)


def _retriggered(sender, incident, at, **kwargs):
    stepping.restart(incident, at)


def _resolved(sender, incident, at, **kwargs):
    stepping.stop(incident, at)


def _escalation_requested(sender, incident, at, **kwargs):
    stepping.jump(incident, at)


def _reassigned(sender, incident, at, person, **kwargs):
    stepping.page_people(incident, [person], NotificationRequest.REASSIGNED,
                         f"{incident.pk}:{person.pk}:{at.timestamp()}", at)


def _responders_requested(sender, incident, at, targets, message="", **kwargs):
    people = resolve_objects(targets, at)
    stepping.page_people(incident, people, NotificationRequest.RESPONDER, f"{incident.pk}:{at.timestamp()}", at,
                         message=message)


def _job_dead(sender, kind, payload, error, at, **kwargs):
    """A step or deadline that failed every attempt must not leave its incident silently unpaged."""
    if kind in {"escalation.step", "escalation.deadline"}:
        stepping.stalled(payload["escalation"], error, at)


def connect():
    engine_signals.job_dead.connect(_job_dead, dispatch_uid="escalation.job_dead")
    signals.triggered.connect(_triggered, dispatch_uid="escalation.triggered")
    signals.acknowledged.connect(_acknowledged, dispatch_uid="escalation.acknowledged")
    signals.retriggered.connect(_retriggered, dispatch_uid="escalation.retriggered")
    signals.resolved.connect(_resolved, dispatch_uid="escalation.resolved")
    signals.escalation_requested.connect(_escalation_requested, dispatch_uid="escalation.requested")
    signals.reassigned.connect(_reassigned, dispatch_uid="escalation.reassigned")
    signals.responders_requested.connect(_responders_requested, dispatch_uid="escalation.responders")
