"""API bearer tokens: format, hashing and lookup."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.utils import timezone

from .models import ApiToken

PREFIX = "tcs_"
# last_used_at is written at most this often, so an API client does not cause a write per call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_secret():
    """Return (prefix, full token). The prefix finds the row; the digest proves the secret."""
    prefix = secrets.token_hex(6)
    return prefix, f"{PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def authenticate(raw: str, now=None):
    """Return the usable ApiToken for a presented bearer value, or None."""
    if not raw or not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    prefix = raw[len(PREFIX):].split("_", 1)[0]
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.digest, digest(raw)):
        return None
    now = now or timezone.now()
    if not token.is_usable(now):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
