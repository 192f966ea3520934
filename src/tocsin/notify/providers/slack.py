"""Incident messages to a Slack incoming webhook as Block Kit (F1)."""

import json

import httpx

from .base import DELIVERED, FAILED, TIMEOUT, Message, Outcome, Provider, register
from .facts import fields, heading, links
from .safety import refusal

HEADER_LIMIT = 150  # Slack refuses a header block whose text is longer
TEXT_LIMIT = 3000


def mrkdwn_escape(text):
    # Slack's only escapes: otherwise "<!channel>" or "<url|label>" in a title would be live markup.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def blocks_for(message: Message):
    title = heading(message)
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": title[:HEADER_LIMIT], "emoji": True}}]
    if message.text:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn_escape(message.text)[:TEXT_LIMIT]}})
    facts = fields(message)
    if facts:
        blocks.append({"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*{label}*\n{mrkdwn_escape(value)}"} for label, value in facts]})
    buttons = []
    interactive = bool(message.data.get("interactive")) and message.data.get("incident_id") not in (None, "")
    if interactive:
        # Handled by Slack's interactivity callback, which finds the incident by this value.
        incident = str(message.data["incident_id"])
        buttons += [
            {"type": "button", "action_id": "tocsin_ack", "value": incident, "style": "primary",
             "text": {"type": "plain_text", "text": "Acknowledge"}},
            {"type": "button", "action_id": "tocsin_resolve", "value": incident,
             "text": {"type": "plain_text", "text": "Resolve"}},
        ]
    for key, label, url in links(message):
        if interactive and key in ("ack_url", "resolve_url"):
            continue
        buttons.append({"type": "button", "action_id": f"tocsin_link_{key.removesuffix('_url')}",
                        "text": {"type": "plain_text", "text": label}, "url": url})
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return {"text": title, "blocks": blocks}


@register
class Slack(Provider):
    kind = "slack"
    channels = ("chat",)

    async def send(self, message: Message, client: httpx.AsyncClient) -> Outcome:
        # The target URL is a credential, kept with the secrets; rows saved before kept it in the settings.
        url = message.to or self.config.secrets.get("url") or self.config.settings.get("url", "")
        problem = await refusal(url, self.config.settings)
        if problem:
            return Outcome(FAILED, error=f"Slack webhook: {problem}")
        body = json.dumps(blocks_for(message)).encode()
        try:
            response = await client.post(url, content=body, headers={"Content-Type": "application/json"},
                                         timeout=TIMEOUT, follow_redirects=False)
        except httpx.TimeoutException:
            return Outcome(FAILED, error="Slack did not answer in time", transient=True)
        except httpx.HTTPError as exc:
            return Outcome(FAILED, error=f"Slack unreachable: {type(exc).__name__}", transient=True)
        status = response.status_code
        if status == 200 and response.text.strip() == "ok":
            return Outcome(DELIVERED)
        # Slack's error bodies are short codes (invalid_blocks, channel_is_archived…); never the URL.
        return Outcome(FAILED, error=f"Slack HTTP {status}: {response.text[:200]}",
                       transient=status == 429 or status >= 500)
