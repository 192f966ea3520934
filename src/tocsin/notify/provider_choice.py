"""Which providers can carry a message, in the order to try them: the enabled `Provider` rows of
the channel by priority, healthy ones first, then those configured by environment (TOCSIN_SMTP_URL,
TOCSIN_TWILIO_*). Chat and webhook destinations are URLs, whose form says which provider speaks
them (a Slack or Teams webhook, a signed webhook, or an Apprise URL)."""

import json
import logging
import os
from urllib.parse import urlsplit

from . import providers
from .models import CHAT, WEBHOOK, Provider
from .providers.base import Config, build

log = logging.getLogger("tocsin.notify")
TEAMS_HOSTS = ("webhook.office.com", "logic.azure.com", "powerplatform.com", "powerautomate.com")


def config_of(row):
    try:
        secrets = json.loads(row.secrets) if row.secrets else {}
    except ValueError:
        log.warning("provider secrets are not JSON; sending without them", extra={"provider": row.name})
        secrets = {}
    return Config(name=row.name, kind=row.kind, settings=row.settings or {}, secrets=secrets)


def _from_environment():
    found = []
    if os.environ.get("TOCSIN_SMTP_URL"):
        from .providers.email import from_url

        found.append(from_url(os.environ["TOCSIN_SMTP_URL"]))
    from .providers.twilio import from_environment

    twilio = from_environment()
    if twilio is not None:
        found.append(twilio)
    return found


def any_configured():
    """Whether Tocsin has any way out at all. Until it has, the outbox waits (and `tocsin check`
    says so) rather than failing every page and racing each escalation to its final fallback."""
    if Provider.objects.filter(enabled=True).exists() or os.environ.get("TOCSIN_SMTP_URL"):
        return True
    from .providers.twilio import from_environment

    return from_environment() is not None


def url_kind(destination):
    """The provider kind that speaks to a chat or webhook destination."""
    parts = urlsplit(destination or "")
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https"):
        return Provider.APPRISE
    if host == "hooks.slack.com":
        return Provider.SLACK
    if any(host == h or host.endswith("." + h) for h in TEAMS_HOSTS):
        return Provider.TEAMS
    return Provider.WEBHOOK_KIND


class Catalogue:
    """The providers of one sending run (read once per run, not per message)."""

    def __init__(self):
        providers.load()
        rows = list(Provider.objects.filter(enabled=True).order_by("-healthy", "priority", "name"))
        self.by_channel = {}
        self.limits = {row.name: (row.rate_per_minute, row.max_concurrent) for row in rows}
        for row in rows:
            for channel in row.channels or []:
                self.by_channel.setdefault(channel, []).append(build(config_of(row)))
        for config in _from_environment():
            made = build(config)
            for channel in made.channels:
                if not any(p.config.kind == config.kind for p in self.by_channel.get(channel, [])):
                    self.by_channel.setdefault(channel, []).append(made)
        self._url_providers = {}

    def candidates(self, channel, destination):
        if channel in (CHAT, WEBHOOK):
            kind = url_kind(destination)
            configured = [p for p in self.by_channel.get(channel, []) if p.config.kind == kind]
            if configured:
                return configured
            if kind not in self._url_providers:
                self._url_providers[kind] = build(Config(name=kind, kind=kind))
            return [self._url_providers[kind]]
        return list(self.by_channel.get(channel, []))
