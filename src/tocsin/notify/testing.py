"""A provider's test send: one message through that provider alone, now, with its answer."""

import time

import httpx

from tocsin.core import audit

from . import direct
from .provider_choice import config_of
from .providers.base import Message, build

TEST_TEXT = "Tocsin test message: this provider works. No action needed."


def test_send(provider, channel, to, *, actor):
    if channel not in (provider.channels or []):
        from django.core.exceptions import ValidationError

        raise ValidationError({"channel": f"{provider.name} does not serve {channel}."})
    sender = build(config_of(provider))
    message = Message(channel=channel, to=to, subject="Tocsin test message", text=TEST_TEXT,
                      html=f"<p>{TEST_TEXT}</p>", data={"test": True}, key=f"test-{time.time_ns()}")

    try:
        outcome, latency = direct.send(sender, message, 30)
        result = {"status": outcome.status, "provider_message_id": outcome.provider_message_id,
                  "error": outcome.error, "latency_ms": latency}
    except (TimeoutError, httpx.HTTPError, OSError) as exc:
        result = {"status": "failed", "provider_message_id": "", "error": f"{type(exc).__name__}: {exc}"[:300],
                  "latency_ms": 0}
    audit.record(actor, "notify.provider_test", provider, summary={"channel": channel, "status": result["status"]})
    return result
