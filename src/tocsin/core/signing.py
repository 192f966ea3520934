"""HMAC-SHA256 signatures of outbound HTTP bodies, as receivers verify them: `hex(HMAC(secret, "<timestamp>.<body>"))`."""

import hashlib
import hmac


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """For receivers written in Python (and for tests); compared in constant time."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
