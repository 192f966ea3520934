"""Catalog app: services, their dependencies and impact analysis, and legacy exceptions."""

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "tocsin.catalog"
    label = "catalog"
    verbose_name = "Service catalogue"

    def ready(self):
        from tocsin.core import config_checks

        from . import findings

        config_checks.register(findings.overdue_exception_reviews)
        config_checks.register(findings.impact_analysis_warnings)
