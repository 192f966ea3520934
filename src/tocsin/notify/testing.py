"""A provider's test send: one message through that provider alone, now, with its answer."""

import asyncio
import time

import httpx

from tocsin.core import audit

from .provider_choice import config_of
from .providers.base import TIMEOUT, Message, build

TEST_TEXT = "Tocsin test message: this provider works. No action needed."


def test_send(provider, channel, to, *, actor):
    if channel not in (provider.channels or []):
        from django.core.exceptions import ValidationError

        raise ValidationError({"channel": f"{provider.name} does not serve {channel}."})
    sender = build(config_of(provider))
    message = Message(channel=channel, to=to, subject="Tocsin test message", text=TEST_TEXT,
                      html=f"<p>{TEST_TEXT}</p>", data={"test": True}, key=f"test-{time.time_ns()}")

    async def send():
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            started = time.monotonic()
            outcome = await asyncio.wait_for(sender.send(message, client), 30)
            return outcome, int((time.monotonic() - started) * 1000)

    try:
        outcome, latency = asyncio.run(send())
        result = {"status": outcome.status, "provider_message_id": outcome.provider_message_id,
                  "error": outcome.error, "latency_ms": latency}
    except (TimeoutError, httpx.HTTPError, OSError) as exc:
        result = {"status": "failed", "provider_message_id": "", "error": f"{type(exc).__name__}: {exc}"[:300],
                  "latency_ms": 0}
    audit.record(actor, "notify.provider_test", provider, summary={"channel": channel, "status": result["status"]})
    return result
