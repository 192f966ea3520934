"""Log filters: attach the request id, and scrub anything that looks like a secret or personal data."""

import logging
import re

from . import context

_PATTERNS = [
    (re.compile(r"tcs_[A-Za-z0-9_\-]{8,}"), "tcs_[redacted]"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=\-]+"), r"\1[redacted]"),
    (re.compile(r"(?i)\b(password|passphrase|secret|token|otp_token|code)=([^&\s]+)"), r"\1=[redacted]"),
    (re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"), "[email]"),
    (re.compile(r"\+\d[\d \-().]{7,}\d"), "[number]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RequestContextFilter(logging.Filter):
    def filter(self, record):
        if not getattr(record, "request_id", ""):
            record.request_id = context.request_id.get()
        return True


class RedactionFilter(logging.Filter):
    """Defence in depth: Tocsin never logs personal data on purpose, and this catches accidents."""

    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            # Exception messages can quote input (an address that failed validation, say).
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
