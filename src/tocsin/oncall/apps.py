"""On-call app: schedules, rotations, overrides, swaps, who is on call, and calendars."""

from django.apps import AppConfig


class OncallConfig(AppConfig):
    name = "tocsin.oncall"
    label = "oncall"
    verbose_name = "On-call schedules"

    def ready(self):
        from tocsin.core import config_checks

        from . import checks, receivers

        config_checks.register(checks.gaps_ahead_findings)
        config_checks.register(checks.vacancy_findings)
        receivers.connect()
