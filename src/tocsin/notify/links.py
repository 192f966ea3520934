"""Absolute links put into messages: acknowledge and resolve by token, and the incident page."""

import functools
from urllib.parse import quote

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

# Stand for the token or number in a link's path, reversed once: a fan-out builds three links a
# message, and reversing each cost more than the rest of the message's links.
_TOKEN_SLOT, _NUMBER_SLOT = "0slot0", 9081726354


def absolute(path):
    """`path` on Tocsin's public address (TOCSIN_BASE_URL), as a person's phone or mail client sees it."""
    return settings.BASE_URL.rstrip("/") + "/" + path.lstrip("/")


@functools.lru_cache(maxsize=16)
def _path(name, slot, urlconf, prefix):
    return reverse(name, args=[slot], urlconf=urlconf)


def _link(name, slot, value):
    path = _path(name, slot, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
    return absolute(path.replace(str(slot), quote(str(value), safe=""), 1))


def ack_url(token):
    return _link("notify-ack", _TOKEN_SLOT, token)


def resolve_url(token):
    return _link("notify-resolve", _TOKEN_SLOT, token)


def incident_url(incident):
    return _link("incident", _NUMBER_SLOT, incident.number)


def warm():
    """Reads the URL configuration (an import of every view), so that the first message after a
    start does not wait for it."""
    ack_url("token"), resolve_url("token"), _link("incident", _NUMBER_SLOT, 1)
