"""Incidents app: incidents, their status and timeline, and who responds to them."""

from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "tocsin.incidents"
    label = "incidents"
    verbose_name = "Incidents"

    def ready(self):
        from tocsin.core import metrics
        from tocsin.directory import visibility

        from . import access, jobs  # noqa: F401  (jobs: engine handlers)
        from .metrics import IncidentCollector

        visibility.register_need(access.responder_need)
        metrics.register(IncidentCollector())
