"""Incident messages to a Microsoft Teams workflow webhook as an Adaptive Card 1.4 (F1)."""

import json

import httpx

from .base import DELIVERED, FAILED, TIMEOUT, Message, Outcome, Provider, register
from .facts import fields, heading, links
from .safety import refusal

CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def card_for(message: Message):
    body = [{"type": "TextBlock", "text": heading(message), "weight": "Bolder", "size": "Medium", "wrap": True}]
    if message.text:
        body.append({"type": "TextBlock", "text": message.text, "wrap": True})
    facts = fields(message)
    if facts:
        body.append({"type": "FactSet", "facts": [{"title": label, "value": value} for label, value in facts]})
    card = {"type": "AdaptiveCard", "$schema": CARD_SCHEMA, "version": "1.4", "body": body}
    actions = [{"type": "Action.OpenUrl", "title": label, "url": url} for _, label, url in links(message)]
    if actions:
        card["actions"] = actions
    return {"type": "message",
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
                             "content": card}]}


@register
class Teams(Provider):
    kind = "teams"
    channels = ("chat",)

    async def send(self, message: Message, client: httpx.AsyncClient) -> Outcome:
        # The target URL is a credential, kept with the secrets; rows saved before kept it in the settings.
        url = message.to or self.config.secrets.get("url") or self.config.settings.get("url", "")
        problem = await refusal(url, self.config.settings)
        if problem:
            return Outcome(FAILED, error=f"Teams webhook: {problem}")
        body = json.dumps(card_for(message)).encode()
        try:
            response = await client.post(url, content=body, headers={"Content-Type": "application/json"},
                                         timeout=TIMEOUT, follow_redirects=False)
        except httpx.TimeoutException:
            return Outcome(FAILED, error="Teams did not answer in time", transient=True)
        except httpx.HTTPError as exc:
            return Outcome(FAILED, error=f"Teams unreachable: {type(exc).__name__}", transient=True)
        status = response.status_code
        if status in (200, 202):
            return Outcome(DELIVERED)
        return Outcome(FAILED, error=f"Teams HTTP {status}: {response.text[:200]}",
                       transient=status == 429 or status >= 500)
