"""Escalation app: policies and tiers, and the steps that page people until someone acknowledges."""

from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "tocsin.escalation"
    label = "escalation"
    verbose_name = "Escalation"

    def ready(self):
        from tocsin.core import config_checks

        from . import audit_jobs, checks, jobs, receivers  # noqa: F401  (jobs: engine handlers)

        receivers.connect()
        from . import panel; panel.register()  # noqa: E702  (the incident page's escalation section)
        for check in (checks.fallback_findings, checks.unlinked_service_findings, checks.unpaged_findings):
            config_checks.register(check)
