"""Engine handler of the channel posts: one lifecycle message to one service or team channel,
outside a transaction, retried with the engine's backoff while the failure is transient."""

import logging
from datetime import datetime

import httpx

from tocsin.engine.registry import handler
from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.services import record_entry

from . import direct, providers
from .channels import JOB, job_key, message_for, posted_key
from .models import ServiceChannel
from .providers.base import FAILED, Config, build

log = logging.getLogger("tocsin.notify")
MAX_ATTEMPTS = 8
SEND_SECONDS = 30


class ChannelPostFailed(Exception):
    """A transient failure (5xx, 429, timeout): the engine tries again later. The message names
    the channel, never its URL."""


def _send(channel, message):
    providers.load()
    provider = build(Config(name=channel.name, kind=channel.kind, settings={"url": channel.url},
                            secrets={"secret": channel.secret}))

    return direct.send(provider, message, SEND_SECONDS)[0]


# Outside the job's transaction: no database lock is held while the room's server answers. The
# post is at-least-once; Message.key (the job's key) goes along where the provider takes one.
@handler(JOB, transactional=False, max_attempts=MAX_ATTEMPTS)
def post_to_channel(payload, context):
    channel = ServiceChannel.objects.filter(pk=payload["channel"], enabled=True).first()
    event = payload["event"]
    if channel is None or event not in (channel.events or []):
        return  # removed, switched off or unsubscribed since: nothing is wanted any more
    incident = (Incident.objects.select_related("service__owner_team", "priority")
                .filter(pk=payload["incident"]).first())
    if incident is None:
        return
    key = job_key(channel.pk, incident.pk, event, datetime.fromisoformat(payload["at"]))
    if TimelineEntry.objects.filter(key=posted_key(key)).exists():
        return  # posted already, by an earlier job of the same key
    message = message_for(channel, incident, event, key)
    try:
        outcome = _send(channel, message)
    except (TimeoutError, httpx.HTTPError, OSError) as exc:
        raise ChannelPostFailed(f"{channel.name}: {type(exc).__name__}") from None
    facts = {"channel": channel.pk, "kind": channel.kind, "event": event}
    if outcome.status != FAILED:
        record_entry(incident, TimelineEntry.NOTIFIED, f"Posted to {channel.name}: {event}.",
                     key=posted_key(key), at=context.now, data=facts)
        return
    if outcome.transient:
        raise ChannelPostFailed(f"{channel.name}: {outcome.error}")
    # A hard failure (the room is gone, the URL revoked): retrying cannot help, people must know.
    log.warning("channel post refused", extra={"channel": channel.pk, "incident": incident.pk, "event": event,
                                               "error": outcome.error[:200]})
    record_entry(incident, TimelineEntry.NOTIFIED, f"Could not post to {channel.name}: {outcome.error}",
                 key=f"{key}:failed"[:200], at=context.now, data={**facts, "failed": True})
