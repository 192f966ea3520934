"""Adding, changing and removing the chat channels of a service or a team (F1): validated, audited,
and never echoing a channel's URL, which carries the room's token."""

import ipaddress
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction

from tocsin.catalog.models import Service
from tocsin.core import audit
from tocsin.core.models import Team

from .models import ServiceChannel
from .provider_choice import TEAMS_HOSTS
from .providers.safety import private_addresses_allowed

MAX_NAME = 120
MAX_URL = 1000
MIN_SECRET = 16
SLACK_HOST = "hooks.slack.com"
KINDS = dict(ServiceChannel.KINDS)
CHANGEABLE = {"name", "kind", "url", "secret", "events", "enabled"}


def mask_url(url):
    """Enough to recognise a channel's URL, not enough to post to it: 'https://hooks.slack.com/…/Xy9Z'."""
    try:
        parts = urlsplit(url or "")
        host = parts.hostname or ""
    except ValueError:
        return "…"
    if not parts.scheme or not host:
        return "…"
    port = f":{parts.port}" if parts.port else ""
    path = parts.path.rstrip("/")
    tail = path[-4:] if len(path) > 12 else ""
    return f"{parts.scheme}://{host}{port}/…" + (f"/{tail}" if tail else "")


def _private_host(host):
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return host == "localhost" or host.endswith(".localhost")


def _is_teams_host(host):
    return any(host == h or host.endswith("." + h) for h in TEAMS_HOSTS)


def clean_name(name):
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise ValidationError({"name": "Name the channel, e.g. #ops-payments."})
    if len(name) > MAX_NAME:
        raise ValidationError({"name": f"At most {MAX_NAME} characters."})
    return name


def clean_kind(kind):
    if kind not in KINDS:
        raise ValidationError({"kind": f"'{str(kind)[:20]}' is not a channel kind; use {', '.join(KINDS)}."})
    return kind


def clean_url(url, kind):
    """The URL, checked for `kind`. Errors never quote it: it is a credential."""
    url = url.strip() if isinstance(url, str) else ""
    if not url:
        raise ValidationError({"url": "Give the channel's webhook URL."})
    if len(url) > MAX_URL:
        raise ValidationError({"url": f"At most {MAX_URL} characters."})
    if any(ch.isspace() for ch in url):
        raise ValidationError({"url": "A URL has no spaces."})
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        raise ValidationError({"url": "This is not a valid URL."}) from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise ValidationError({"url": "Use an https:// URL with a host name."})
    if parts.username or parts.password:
        raise ValidationError({"url": "Leave credentials out of the URL."})
    allowed_private = private_addresses_allowed({})
    private = _private_host(host)
    if private and not allowed_private:
        raise ValidationError({"url": "This address is not public; set TOCSIN_WEBHOOKS_TO_PRIVATE_ADDRESSES to "
                                      "allow it."})
    if parts.scheme == "http" and not (private and allowed_private):
        raise ValidationError({"url": "Use https://; plain http is only for private addresses, when "
                                      "TOCSIN_WEBHOOKS_TO_PRIVATE_ADDRESSES allows them."})
    # A private host (a local relay, a test receiver) may stand in for any kind, once allowed.
    if kind == ServiceChannel.SLACK and host != SLACK_HOST and not private:
        raise ValidationError({"url": f"A Slack channel's URL is an incoming webhook on {SLACK_HOST}."})
    if kind == ServiceChannel.TEAMS and not _is_teams_host(host) and not private:
        raise ValidationError({"url": "A Teams channel's URL is a Teams or Power Automate workflow webhook "
                                      f"({', '.join(TEAMS_HOSTS)})."})
    if kind == ServiceChannel.WEBHOOK_KIND and (host == SLACK_HOST or _is_teams_host(host)):
        raise ValidationError({"kind": "This URL is a Slack or Teams webhook; choose that kind."})
    return url


def clean_events(events):
    if isinstance(events, str) or not isinstance(events, (list, tuple, set)):
        raise ValidationError({"events": "Give the events as a list."})
    unknown = [e for e in events if e not in ServiceChannel.EVENTS]
    if unknown:
        raise ValidationError({"events": f"Unknown event '{str(unknown[0])[:40]}'; use "
                                         f"{', '.join(ServiceChannel.EVENTS)}."})
    if not events:
        raise ValidationError({"events": f"Choose at least one event: {', '.join(ServiceChannel.EVENTS)}."})
    return [e for e in ServiceChannel.EVENTS if e in events]


def clean_secret(secret, kind):
    secret = secret.strip() if isinstance(secret, str) else ""
    if kind == ServiceChannel.WEBHOOK_KIND and len(secret) < MIN_SECRET:
        raise ValidationError({"secret": f"A signed webhook needs a secret of at least {MIN_SECRET} characters; "
                                         "it signs every post."})
    return secret if kind == ServiceChannel.WEBHOOK_KIND else ""


def _owner(service, team):
    if (service is None) == (team is None):
        raise ValidationError({"service": "A channel belongs to a service or to a team (one of them)."})
    if service is not None and not (isinstance(service, Service) and service.pk):
        raise ValidationError({"service": "Choose an existing service."})
    if team is not None and not (isinstance(team, Team) and team.pk):
        raise ValidationError({"team": "Choose an existing team."})


def _summary(channel, **extra):
    return {"name": channel.name, "kind": channel.kind, "service": channel.service_id, "team": channel.team_id,
            "events": channel.events, "enabled": channel.enabled, "url": mask_url(channel.url), **extra}


def add_channel(*, service=None, team=None, kind, name, url, secret="", events, enabled=True, actor):
    _owner(service, team)
    kind = clean_kind(kind)
    channel = ServiceChannel(service=service, team=team, kind=kind, name=clean_name(name), url=clean_url(url, kind),
                             secret=clean_secret(secret, kind), events=clean_events(events), enabled=bool(enabled))
    with transaction.atomic():
        channel.save()
        audit.record(actor, "notify.channel_added", channel, summary=_summary(channel))
    return channel


def change_channel(channel, *, actor, **fields):
    """Change some of name, kind, url, secret, events, enabled. An empty `url` or `secret` keeps
    the stored one (the pages never show them back)."""
    unknown = set(fields) - CHANGEABLE
    if unknown:
        raise ValidationError({name: "Unknown field." for name in sorted(unknown)})
    kind = clean_kind(fields.get("kind", channel.kind))
    url = fields.get("url") or channel.url
    secret = fields.get("secret") or channel.secret
    name = clean_name(fields["name"]) if "name" in fields else channel.name
    events = clean_events(fields["events"]) if "events" in fields else channel.events
    url, secret = clean_url(url, kind), clean_secret(secret, kind)
    changed = sorted(f for f in fields if f not in ("url", "secret") or fields[f])
    channel.kind, channel.name, channel.url, channel.secret, channel.events = kind, name, url, secret, events
    if "enabled" in fields:
        channel.enabled = bool(fields["enabled"])
    with transaction.atomic():
        channel.save()
        audit.record(actor, "notify.channel_changed", channel, summary=_summary(channel, fields=changed))
    return channel


def remove_channel(channel, *, actor):
    with transaction.atomic():
        audit.record(actor, "notify.channel_removed", channel, summary=_summary(channel))
        channel.delete()
