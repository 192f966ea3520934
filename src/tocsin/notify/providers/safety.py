"""What a provider must not do by accident: post to a private address it was not allowed to, or
carry a destination (a phone number) into an error text that ends up in logs and the UI."""

import asyncio
import ipaddress
import os
import re
from urllib.parse import urlsplit

from django.conf import settings as django_settings

_NUMBER = re.compile(r"\+?\d[\d ().-]{5,}\d")
_ADDRESS = re.compile(r"[^\s<>@\"']+@[^\s<>@\"']+")


def without_contacts(text):
    """`text` with anything that looks like an e-mail address or a phone number masked (servers
    like to quote the destination they refuse)."""
    return _NUMBER.sub("[number]", _ADDRESS.sub("[address]", text))


def private_addresses_allowed(provider_settings):
    if provider_settings.get("allow_private_addresses"):
        return True
    if os.environ.get("TOCSIN_WEBHOOKS_TO_PRIVATE_ADDRESSES", "").lower() in ("1", "true", "yes", "on"):
        return True
    return django_settings.configured and bool(getattr(django_settings, "TOCSIN_WEBHOOKS_TO_PRIVATE_ADDRESSES", False))


async def refusal(url, provider_settings):
    """'' when `url` may be posted to; else why not. The URL itself is never quoted: chat and
    webhook URLs often carry the receiver's token."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "the target is not an http(s) URL"
    return await host_refusal(parts.hostname, provider_settings)


async def host_refusal(hostname, provider_settings):
    """'' when `hostname` resolves only to public addresses (or private ones are allowed)."""
    if private_addresses_allowed(provider_settings):
        return ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(hostname, None)
    except OSError:
        return ""  # the send fails to connect, and says so
    for info in infos:
        if not ipaddress.ip_address(info[4][0].split("%")[0]).is_global:
            return ("refused: the target's host is not a public address "
                    "(TOCSIN_WEBHOOKS_TO_PRIVATE_ADDRESSES or the provider's allow_private_addresses allows it)")
    return ""
