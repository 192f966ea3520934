"""Engine handlers of the alerts app."""

from tocsin.engine.registry import handler

from . import processing
from .models import Alert
from .store import PROCESS_JOB


# Outside the job's transaction: the processor commits in small transactions of its own (see
# processing), and is idempotent by the alerts' dirty flag.
@handler(PROCESS_JOB, max_attempts=20, coalescing=True, transactional=False)
def process_alerts(payload, context):
    processing.process(context.now)


@handler("alerts.recheck")
def recheck(payload, context):
    """A held alert's time has come, or its processing failed: let the processor look again."""
    if Alert.objects.filter(pk=payload["alert"]).update(dirty=True):
        processing.process(context.now, batch=processing.CHUNK)  # more waiting: a run is scheduled
