"""Alerts app: integrations and their payload formats, the ingestion fast path, normalisation,
dedup, grouping, routing, suppression and heartbeats."""

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "tocsin.alerts"
    label = "alerts"
    verbose_name = "Alerts"

    def ready(self):
        from . import heartbeats, jobs, outbound, panel, receivers, stages  # noqa: F401  (engine handlers, stages)

        receivers.connect()
        outbound.connect()
        panel.register()
