"""Notify app: providers and channels, per-person notification rules, the dispatcher that turns
notification requests into delivery attempts, templates, and acknowledgement by link, SMS,
voice and e-mail."""

from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "tocsin.notify"
    label = "notify"
    verbose_name = "Notifications"

    def ready(self):
        from tocsin.core import config_checks

        from . import channels, checks, jobs, jobs_synthetic, mail_replies, panel, receivers, reminders, sla

        receivers.connect()
        channels.connect()
        mail_replies.register_mailboxes()
        jobs.register()
        panel.register()
        reminders.connect()
        jobs_synthetic.register()
        sla.register_metrics()
        config_checks.register(checks.provider_findings)
