"""On-call app: schedules, rotations, overrides, swaps, who is on call, and calendars."""

from django.apps import AppConfig


class OncallConfig(AppConfig):
    name = "tocsin.oncall"
    label = "oncall"
    verbose_name = "On-call schedules"

    def ready(self):
        from tocsin.core import config_checks, retention

        from . import checks, jobs, receivers
        from .services import announcements

        config_checks.register(checks.gaps_ahead_findings)
        config_checks.register(checks.vacancy_findings)
        retention.register(
            "oncall.announcements", "On-call announcements (shift started, handoff, gap) this old are deleted",
            announcements.DEFAULT_DAYS, announcements.purge_announcements,
        )
        receivers.connect()
        jobs.register()
