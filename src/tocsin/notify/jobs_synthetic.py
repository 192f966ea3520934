"""Engine handlers of the synthetic checks: the periodic run of the checks that are due, and the
deadline of each run still waiting for its delivery."""

from datetime import timedelta

from tocsin.engine.registry import every, handler

from . import synthetic

RUN_JOB = "notify.synthetic"
INTERVAL = timedelta(minutes=1)


# Outside the job's transaction: it waits on providers, and each run records itself as it goes.
@handler(RUN_JOB, transactional=False, max_attempts=3)
def run_checks(payload, context):
    synthetic.run_due(context.now)


@handler(synthetic.DEADLINE_JOB)
def deadline(payload, context):
    synthetic.deadline_passed(payload.get("run"), context.now)


_registered = []


def register():
    """The periodic job and the failing-check gauge; NotifyConfig.ready calls it once."""
    every(RUN_JOB, INTERVAL)
    if not _registered:
        from tocsin.core import metrics

        collector = synthetic.SyntheticCollector()
        metrics.register(collector)
        _registered.append(collector)
