"""Mailboxes of the SMTP listener served by higher apps (e-mail replies to notifications), by name.

The listener (alerts) and the apps that answer mail (notify) sit on the same rung of the ladder,
so neither imports the other: an app registers a handler here, and the listener asks here for
a mailbox it does not know as an integration key."""

from urllib.parse import urlsplit

from django.conf import settings

_handlers = {}


def domain():
    """The domain of Tocsin's own addresses (integration mailboxes, reply addresses):
    TOCSIN_INBOUND_MAIL_DOMAIN, or the host of TOCSIN_BASE_URL."""
    return settings.TOCSIN_INBOUND_MAIL_DOMAIN or urlsplit(settings.BASE_URL).hostname or "localhost"


def register(name, handler):
    """`handler(recipient, message) -> reply or None`: `recipient` is the full address (it may carry
    a `+tag`), `message` the parsed e-mail. It returns None when the message is taken, or an
    SMTP reply line ("250 …", "550 …") that answers it instead."""
    _handlers[name.strip().lower()] = handler


def handler_for(name):
    return _handlers.get((name or "").strip().lower())


def unregister(name):
    _handlers.pop((name or "").strip().lower(), None)
