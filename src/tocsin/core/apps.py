"""Core app: identity, permissions, audit, encryption and operability."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tocsin.core"
    label = "core"
    verbose_name = "Tocsin core"

    def ready(self):
        from . import jobs, signals  # noqa: F401  (signals: audit of login events)

        jobs.register()
