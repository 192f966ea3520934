"""Outbound webhooks (E7): incident state changes posted to a SIEM or ticketing system, signed
with the webhook's secret and retried by the engine until the receiver takes them.

Each (webhook, incident, event) becomes one engine job, scheduled in the transaction that changed
the incident, so a change that rolls back is never announced. Delivery is at-least-once; the
`X-Tocsin-Delivery` header is the same on every attempt, for receivers to drop duplicates."""

import hmac
import ipaddress
import json
import socket
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from tocsin.core import signing
from tocsin.engine import queue
from tocsin.engine.registry import handler
from tocsin.incidents import signals
from tocsin.incidents.models import Incident

from .models import OutboundWebhook

JOB = "alerts.outbound"
MAX_ATTEMPTS = 10
TIMEOUT_SECONDS = 5.0
SIGNATURE_HEADER = "X-Tocsin-Signature"

TRIGGERED, ACKNOWLEDGED, RESOLVED, REASSIGNED, RETRIGGERED = (
    "triggered", "acknowledged", "resolved", "reassigned", "retriggered")
EVENTS = (TRIGGERED, ACKNOWLEDGED, RESOLVED, REASSIGNED, RETRIGGERED)


class DeliveryFailed(Exception):
    """The receiver did not take the body; the engine retries with backoff. The message never
    carries the URL, which may hold a token of the receiver's."""


def signature(secret, timestamp, body):
    """`t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as receivers verify it."""
    return f"t={timestamp},v1={signing.sign(secret.encode(), str(timestamp), body)}"


def verify(secret, header, body):
    """For receivers written in Python (and for tests): does `header` sign `body`?"""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        expected = signature(secret, int(fields["t"]), body)
    except (ValueError, KeyError):
        return False
    return hmac.compare_digest(expected, header)


def receives(webhook, service_ids, incident, event):
    """Whether `webhook` wants `event` of `incident`. A security incident goes only to webhooks
    kept for security, or to one that names its service explicitly."""
    if not webhook.enabled:
        return False
    if webhook.events and event not in webhook.events:
        return False
    if service_ids and incident.service_id not in service_ids:
        return False
    if webhook.security_only and not incident.security:
        return False
    if incident.security and not (webhook.security_only or incident.service_id in service_ids):
        return False
    return True


def body_of(incident, event, at):
    return {
        "event": event,
        "at": at.isoformat(),
        "incident": {
            "id": incident.pk, "number": incident.number, "reference": incident.reference,
            "status": incident.status, "urgency": incident.urgency, "title": incident.title,
            "service": {"id": incident.service_id, "name": incident.service.name},
            "security": incident.security,
        },
    }


def delivery_key(webhook_id, incident_id, event, at):
    return f"{JOB}:{webhook_id}:{incident_id}:{event}:{int(at.timestamp() * 1_000_000)}"


def announce(incident, event, at):
    """Schedule one delivery job per webhook that wants this event. The body is taken now, so a
    retry later still tells what happened then."""
    webhooks = list(OutboundWebhook.objects.filter(enabled=True).prefetch_related("services"))
    jobs = []
    for webhook in webhooks:
        service_ids = {s.pk for s in webhook.services.all()}
        if receives(webhook, service_ids, incident, event):
            key = delivery_key(webhook.pk, incident.pk, event, at)
            jobs.append((JOB, at, {"webhook": webhook.pk, "incident": incident.pk, "event": event, "key": key,
                                   "body": body_of(incident, event, at)}, key))
    if jobs:
        queue.schedule_many(jobs)
    return len(jobs)


@handler(JOB, max_attempts=MAX_ATTEMPTS, transactional=False)  # no lock held while the receiver answers
def deliver(payload, context):
    webhook = OutboundWebhook.objects.filter(pk=payload["webhook"], enabled=True).first()
    if webhook is None:
        return  # deleted or switched off since: nothing is wanted any more
    incident = Incident.objects.filter(pk=payload["incident"]).only("pk", "security", "service_id").first()
    if incident is None:
        return
    body = dict(payload["body"])
    # Checked again now: an incident can become a security incident after the event was
    # scheduled (it opens first, the security alert marks it in the same transaction).
    service_ids = set(webhook.services.values_list("pk", flat=True))
    if incident.security and not (webhook.security_only or incident.service_id in service_ids):
        return
    body["incident"] = {**body["incident"], "security": incident.security}
    post(webhook, body, payload["key"], int(context.now.timestamp()))


def internal(host):
    """Whether `host` is, or resolves to, an address that is not on the public internet (loopback,
    private, link-local such as cloud metadata): a webhook must not become a way to probe inside."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False  # it will fail to connect, which is reported as such
    return any(not ipaddress.ip_address(address.split("%")[0]).is_global for address in addresses)


def post(webhook, body, delivery, timestamp):
    if not settings.TOCSIN_WEBHOOKS_TO_PRIVATE_ADDRESSES and internal(urlsplit(webhook.url).hostname or ""):
        raise DeliveryFailed(f"webhook {webhook.pk}: refused, its host is not a public address "
                             "(TOCSIN_WEBHOOKS_TO_PRIVATE_ADDRESSES allows it)")
    content = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Tocsin-Webhook/1",
        SIGNATURE_HEADER: signature(webhook.secret, timestamp, content),
        "X-Tocsin-Event": body["event"],
        "X-Tocsin-Delivery": delivery,
        "Idempotency-Key": delivery,
    }
    try:
        response = httpx.post(webhook.url, content=content, headers=headers, timeout=TIMEOUT_SECONDS,
                              follow_redirects=False)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"webhook {webhook.pk}: {type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"webhook {webhook.pk}: the receiver answered {response.status_code}")
    return response.status_code


def _receiver(event):
    def on_event(sender, incident, at, **kwargs):
        announce(incident, event, at)
    on_event.__name__ = f"outbound_{event}"
    return on_event


_receivers = {event: _receiver(event) for event in EVENTS}


def connect():
    """Called once the apps are ready (AlertsConfig.ready)."""
    signals.triggered.connect(_receivers[TRIGGERED], dispatch_uid="alerts.outbound.triggered")
    signals.acknowledged.connect(_receivers[ACKNOWLEDGED], dispatch_uid="alerts.outbound.acknowledged")
    signals.resolved.connect(_receivers[RESOLVED], dispatch_uid="alerts.outbound.resolved")
    signals.reassigned.connect(_receivers[REASSIGNED], dispatch_uid="alerts.outbound.reassigned")
    signals.retriggered.connect(_receivers[RETRIGGERED], dispatch_uid="alerts.outbound.retriggered")
