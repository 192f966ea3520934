"""Engine app: durable jobs and timers, and the worker loop that runs them."""

from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "tocsin.engine"
    label = "engine"
    verbose_name = "Engine"

    def ready(self):
        from tocsin.core import metrics, ops_views, retention

        from . import health, probe, queue  # noqa: F401  (probe: a handler)

        metrics.register(health.EngineCollector())
        ops_views.add_readiness_check(health.lag_problem)
        retention.register("engine.jobs", "Finished and cancelled engine jobs this old are deleted",
                           queue.FINISHED_DAYS, queue.purge_finished)
