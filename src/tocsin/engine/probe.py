"""`engine.probe`: a job that does nothing. Its row's finished_at says when it actually ran, which
measures the engine's timer lateness (bench/timer_lateness.py) from outside the engine."""

from .registry import handler


@handler("engine.probe")
def probe(payload, context):
    pass
