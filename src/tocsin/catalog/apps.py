"""Catalog app: services, their dependencies and impact analysis, and legacy exceptions."""

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "tocsin.catalog"
    label = "catalog"
    verbose_name = "Service catalogue"
