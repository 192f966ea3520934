"""Absolute links put into messages: acknowledge and resolve by token, and the incident page."""

from django.conf import settings
from django.urls import reverse


def absolute(path):
    """`path` on Tocsin's public address (TOCSIN_BASE_URL), as a person's phone or mail client sees it."""
    return settings.BASE_URL.rstrip("/") + "/" + path.lstrip("/")


def ack_url(token):
    return absolute(reverse("notify-ack", args=[token]))


def resolve_url(token):
    return absolute(reverse("notify-resolve", args=[token]))


def incident_url(incident):
    return absolute(reverse("incident", args=[incident.number]))
