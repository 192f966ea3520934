"""Directory app: people, roles, contact methods, delegation, consent, sync and need-to-know access."""

from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "tocsin.directory"
    label = "directory"
    verbose_name = "Directory"
