"""Engine handlers of the alerts app."""

from tocsin.engine.registry import handler

from . import processing
from .models import Alert
from .store import PROCESS_JOB


@handler(PROCESS_JOB, max_attempts=20, coalescing=True)
def process_alerts(payload, context):
    processing.process(context.now)


@handler("alerts.recheck")
def recheck(payload, context):
    """A held alert's time has come: let the processor look at it again."""
    Alert.objects.filter(pk=payload["alert"], incident__isnull=True, status__in=Alert.OPEN).update(dirty=True)
    processing.process(context.now)
