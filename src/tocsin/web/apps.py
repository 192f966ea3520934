"""Web app: base layout, static files and the home page."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "tocsin.web"
    label = "web"
