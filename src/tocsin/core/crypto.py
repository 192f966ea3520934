"""Encryption of personal data at rest (Fernet, rotatable) and keyed blind indexes for lookup."""

import base64
import functools
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _derived_key(label):
    digest = hashlib.sha256(f"tocsin:{label}:{settings.SECRET_KEY}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def encryption_keys():
    """The configured keys, or (outside production) one derived from SECRET_KEY."""
    return list(settings.TOCSIN_ENCRYPTION_KEYS) or [_derived_key("encryption")]


@functools.lru_cache(maxsize=8)
def _keyring(keys):
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "TOCSIN_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes); "
            "create one with `tocsin keygen`."
        ) from exc


def keyring():
    return _keyring(tuple(encryption_keys()))


def encrypt(plaintext: str) -> str:
    return keyring().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return keyring().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored value cannot be decrypted with TOCSIN_ENCRYPTION_KEYS; "
            "an old key may have been removed before `tocsin rotate-keys` ran."
        ) from exc


def rotate(ciphertext: str) -> str:
    """Re-encrypt a stored value under the first (current) key."""
    return keyring().rotate(ciphertext.encode()).decode()


def is_current(ciphertext: str) -> bool:
    try:
        Fernet(encryption_keys()[0].encode()).decrypt(ciphertext.encode())
    except InvalidToken:
        return False
    return True


def blind_index(value: str, purpose: str) -> str:
    """A keyed, deterministic digest of a normalised value, so equal values can be found
    without storing them in clear. The key is separate from the encryption keys, so
    rotating those leaves every index valid."""
    key = (settings.TOCSIN_BLIND_INDEX_KEY or _derived_key("blind-index")).encode()
    return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()
