"""Finding an integration by its key on the fast path: a small in-process cache in front of the
database, refreshed every few seconds so that a disabled or deleted integration stops working."""

import asyncio
import hmac
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import close_old_connections

from .models import Integration, key_digest

KEY_FORMAT = re.compile(r"^[0-9A-Za-z_-]{16,64}$")
FRESH_SECONDS = 5.0
MAX_CACHED = 10_000
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="alerts-lookup")
_cache = {}


@dataclass(frozen=True, slots=True)
class IntegrationInfo:
    id: int
    service_id: int | None
    kind: str
    options: dict
    key_hash: str


def _from_database(digest):
    try:
        row = (Integration.objects.filter(key_hash=digest, enabled=True)
               .values_list("id", "service_id", "kind", "options", "key_hash").first())
    finally:
        close_old_connections()
    return IntegrationInfo(*row) if row else None


def find(key):
    """Synchronous lookup (SMTP listener, tests); None for an unknown, malformed or disabled key."""
    if not isinstance(key, str) or not KEY_FORMAT.match(key):
        return None
    digest = key_digest(key.lower())
    cached = _cache.get(digest)
    if cached is not None and cached[1] > time.monotonic():
        info = cached[0]
    else:
        info = _from_database(digest)
        if len(_cache) >= MAX_CACHED:  # (unknown keys are cached too: guessing must not grow it)
            _cache.clear()
        _cache[digest] = (info, time.monotonic() + FRESH_SECONDS)
    # The digest matched by dictionary or index lookup; compare in constant time all the same.
    if info is None or not hmac.compare_digest(info.key_hash, digest):
        return None
    return info


def known(key):
    """The integration of `key` if this process knows it already (no database); else None."""
    if not isinstance(key, str) or not KEY_FORMAT.match(key):
        return None
    cached = _cache.get(key_digest(key.lower()))
    return cached[0] if cached is not None and cached[1] > time.monotonic() else None


async def find_async(key):
    info = known(key)
    if info is not None or not isinstance(key, str) or not KEY_FORMAT.match(key):
        return info
    return await asyncio.get_running_loop().run_in_executor(_pool, find, key)


def forget():
    """Drop the cache (after an integration changes in this process; others catch up within seconds)."""
    _cache.clear()
