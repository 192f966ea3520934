"""The directory's periodic side effects, run by the engine: the HR file sync and the
validation reminders. Validity itself (delegations, holdings, grants) is evaluated when read."""

import logging
from collections import Counter
from datetime import timedelta

from django.conf import settings

from tocsin.core import audit
from tocsin.engine.registry import every, handler

from . import signals
from .compliance import overdue_validations
from .hr_sync import sync_once

log = logging.getLogger("tocsin.directory")


@handler("directory.hr_sync", max_attempts=3)
def hr_sync(payload, context):
    sync_once()


@handler("directory.validation_reminders")
def validation_reminders(payload, context):
    """Gather the overdue validations per steward and hand them on (notifications deliver them)."""
    overdue = list(overdue_validations())
    stewards = Counter(item.steward.pk if item.steward else None for item in overdue)
    audit.record(audit.Actor.system("remind"), "stewardship.reminders_prepared",
                 summary={"overdue": len(overdue), "stewards": len(stewards)})
    if overdue:
        signals.validations_overdue.send(sender=None, items=overdue, at=context.now)


def register():
    every("directory.hr_sync", timedelta(minutes=max(1, settings.TOCSIN_HR_SYNC_MINUTES)),
          enabled=lambda: bool(settings.TOCSIN_HR_SYNC_FILE))
    every("directory.validation_reminders", timedelta(days=1))
