"""Core work the engine runs: the daily retention purge."""

from datetime import timedelta

from tocsin.engine.registry import every, handler

from . import audit, retention


@handler("core.retention_purge", max_attempts=3)
def retention_purge(payload, context):
    retention.run(actor=audit.Actor.system("retention"), now=context.now)


def register():
    every("core.retention_purge", timedelta(days=1))
