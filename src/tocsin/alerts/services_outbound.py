"""Use cases that change outbound webhooks: configuration, so each is audited. The signing secret
is generated here and shown once; it is kept encrypted."""

import ipaddress
import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tocsin.catalog.models import Service
from tocsin.core import audit
from tocsin.engine.models import Job

from .models import OutboundWebhook
from .outbound import EVENTS, JOB

MAX_NAME = 120
MAX_URL = 1000


def new_secret():
    """256 random bits, prefixed so that it is recognisable where it ends up (a receiver's config)."""
    return "whsec_" + secrets.token_urlsafe(32)


def _clean_url(url):
    url = (url or "").strip() if isinstance(url, str) else ""
    if not url:
        raise ValidationError({"url": "Give the receiver's URL."})
    if len(url) > MAX_URL:
        raise ValidationError({"url": f"At most {MAX_URL} characters."})
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        raise ValidationError({"url": "This is not a valid URL."}) from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationError({"url": "Use an http:// or https:// URL with a host name."})
    if parts.username or parts.password:
        raise ValidationError({"url": "Leave credentials out of the URL; bodies are signed with the secret."})
    if any(ch.isspace() for ch in url):
        raise ValidationError({"url": "A URL has no spaces."})
    if not settings.TOCSIN_WEBHOOKS_TO_PRIVATE_ADDRESSES and _private_literal(parts.hostname):
        raise ValidationError({"url": "This address is not public; set TOCSIN_WEBHOOKS_TO_PRIVATE_ADDRESSES to allow it."})
    return url


def _private_literal(host):
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return host == "localhost"  # a name: checked again, resolved, at every send


def _clean_events(events):
    events = list(events or [])
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise ValidationError({"events": f"Unknown event '{str(unknown[0])[:40]}'; use {', '.join(EVENTS)}."})
    return list(dict.fromkeys(events))


def _clean_services(services):
    services = list(services or [])
    if not all(isinstance(s, Service) and s.pk for s in services):
        raise ValidationError({"services": "Choose existing services."})
    return services


def create_webhook(name, url, *, actor, events=(), services=(), security_only=False, enabled=True):
    """A new outbound webhook; returns (webhook, secret). The secret is not shown again."""
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise ValidationError({"name": "Name the webhook, e.g. after the system it feeds."})
    if len(name) > MAX_NAME:
        raise ValidationError({"name": f"At most {MAX_NAME} characters."})
    url = _clean_url(url)
    events = _clean_events(events)
    services = _clean_services(services)
    secret = new_secret()
    with transaction.atomic():
        webhook = OutboundWebhook.objects.create(name=name, url=url, secret=secret, events=events,
                                                 security_only=bool(security_only), enabled=bool(enabled))
        if services:
            webhook.services.set(services)
        parts = urlsplit(url)
        # The host only: a path or query may carry the receiver's own token.
        audit.record(actor, "alerts.webhook.create", webhook, summary={
            "name": name, "host": f"{parts.scheme}://{parts.netloc}", "events": events,
            "services": [s.pk for s in services], "security_only": bool(security_only)})
    return webhook, secret


def delete_webhook(webhook, *, actor):
    """Remove a webhook; its deliveries still pending are cancelled."""
    with transaction.atomic():
        webhook = OutboundWebhook.objects.select_for_update().get(pk=webhook.pk)
        pk, name = webhook.pk, webhook.name
        Job.objects.filter(kind=JOB, state=Job.PENDING, key__startswith=f"{JOB}:{pk}:").update(
            state=Job.CANCELLED, finished_at=timezone.now())
        webhook.delete()
        audit.record(actor, "alerts.webhook.delete", object_type="alerts.outboundwebhook", object_id=str(pk),
                     summary={"name": name})
