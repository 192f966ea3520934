"""Incidents moved by people carry their alerts along (DESIGN: incident scope)."""

from tocsin.incidents import signals

from .models import Alert


def _acknowledged(sender, incident, at, **kwargs):
    Alert.objects.filter(incident_id=incident.pk, status=Alert.TRIGGERED).update(
        status=Alert.ACKNOWLEDGED, acknowledged_at=at)


def _resolved(sender, incident, at, **kwargs):
    Alert.objects.filter(incident_id=incident.pk, status__in=Alert.OPEN).update(status=Alert.RESOLVED, resolved_at=at)


def connect():
    signals.acknowledged.connect(_acknowledged, dispatch_uid="alerts.acknowledged")
    signals.resolved.connect(_resolved, dispatch_uid="alerts.resolved")
