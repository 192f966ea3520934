"""Directory app: people, roles, contact methods, delegation, consent, sync and need-to-know access."""

from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "tocsin.directory"
    label = "directory"
    verbose_name = "Directory"

    def ready(self):
        from tocsin.core import retention

        from . import jobs
        from .services import anonymisation

        jobs.register()
        retention.register(
            "directory.deactivated_people", "People deactivated this long ago are anonymised", 400,
            anonymisation.purge_deactivated_people,
        )
        retention.register(
            "directory.ended_grants", "Break-glass grants that ended this long ago are deleted", 730,
            anonymisation.purge_ended_grants,
        )
