"""Notifications as signed JSON posts to a receiver's URL (F1), verifiable with tocsin.core.signing."""

import json
import time
from datetime import datetime, timezone

import httpx

from tocsin.core import signing

from .base import FAILED, TIMEOUT, Message, Outcome, Provider, http_outcome, register
from .safety import refusal

TIMESTAMP_HEADER = "X-Tocsin-Timestamp"
SIGNATURE_HEADER = "X-Tocsin-Signature"


def body_of(message: Message, sent_at):
    return {
        "event": message.data.get("event", "notification"),
        "message": {"subject": message.subject, "text": message.text},
        "data": message.data,
        "id": message.key,
        "sent_at": sent_at.isoformat(),
    }


@register
class Webhook(Provider):
    kind = "webhook"
    channels = ("webhook", "chat")

    async def send(self, message: Message, client: httpx.AsyncClient) -> Outcome:
        secret = self.config.secrets.get("secret", "")
        if not secret:
            return Outcome(FAILED, error="secrets.secret is missing (the signing key)")
        # The target URL is a credential, kept with the secrets; rows saved before kept it in the settings.
        url = message.to or self.config.secrets.get("url") or self.config.settings.get("url", "")
        problem = await refusal(url, self.config.settings)
        if problem:
            return Outcome(FAILED, error=f"webhook: {problem}")
        now = time.time()
        timestamp = str(int(now))
        try:
            content = json.dumps(body_of(message, datetime.fromtimestamp(now, timezone.utc)),
                                 separators=(",", ":"), sort_keys=True).encode()
        except (TypeError, ValueError) as exc:
            return Outcome(FAILED, error=f"message.data is not JSON: {exc}")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Tocsin-Webhook/1",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: f"v1={signing.sign(secret.encode(), timestamp, content)}",
        }
        if message.key:
            headers["Idempotency-Key"] = message.key
        try:
            response = await client.post(url, content=content, headers=headers, timeout=TIMEOUT,
                                         follow_redirects=False)
        except httpx.TimeoutException:
            return Outcome(FAILED, error="the webhook receiver did not answer in time", transient=True)
        except httpx.HTTPError as exc:
            return Outcome(FAILED, error=f"the webhook receiver is unreachable: {type(exc).__name__}",
                           transient=True)
        outcome = http_outcome(response, delivered=True)
        if outcome.status == FAILED:
            outcome.error = f"webhook {outcome.error}"
        return outcome
