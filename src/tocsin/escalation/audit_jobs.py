"""The scheduled role-validation audit (registered with the engine): quarterly by default."""

from datetime import timedelta

from tocsin.core import audit
from tocsin.engine.registry import every, handler

from . import target_audit

EVERY = timedelta(days=91)
SCHEDULE = "schedule"


@handler("escalation.target_audit", max_attempts=3)
def run_target_audit(payload, context):
    # Runs in the job's transaction, so a retried job never stores a second report.
    report = target_audit.run(context.now)
    target_audit.store(report, actor=audit.Actor.system(SCHEDULE), ran_by=SCHEDULE)


every("escalation.target_audit", EVERY)
