"""The normalised event every payload format becomes, and the error a bad payload raises."""

from dataclasses import dataclass, field
from datetime import datetime

TRIGGER, ACKNOWLEDGE, RESOLVE = "trigger", "acknowledge", "resolve"
ACTIONS = (TRIGGER, ACKNOWLEDGE, RESOLVE)
SEVERITIES = ("critical", "error", "warning", "info")
MAX_SUMMARY = 1024
MAX_FIELD = 255
RAW_CAP_BYTES = 16 * 1024


# The words monitoring tools use for severity, onto Tocsin's four.
SEVERITY_WORDS = {
    "critical": "critical", "crit": "critical", "fatal": "critical", "emergency": "critical", "emerg": "critical",
    "alert": "critical", "disaster": "critical", "page": "critical", "p1": "critical", "sev1": "critical",
    "error": "error", "err": "error", "high": "error", "major": "error", "p2": "error", "sev2": "error",
    "warning": "warning", "warn": "warning", "average": "warning", "medium": "warning", "minor": "warning",
    "p3": "warning", "sev3": "warning",
    "info": "info", "information": "info", "informational": "info", "notice": "info", "low": "info", "ok": "info",
    "none": "info", "debug": "info", "p4": "info", "p5": "info", "sev4": "info", "sev5": "info",
}


def default_severity(options):
    """An integration's `default_severity` option, else "error"."""
    configured = options.get("default_severity") if isinstance(options, dict) else None
    return configured if configured in SEVERITIES else "error"


def severity_of(value, fallback):
    """Tocsin's severity for a monitoring tool's word (any case), or `fallback` for an unknown one."""
    if isinstance(value, str):
        return SEVERITY_WORDS.get(value.strip().lower(), fallback)
    return fallback


class InvalidEvent(ValueError):
    """A payload that cannot become an alert; `errors` name each problem by its field."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


@dataclass(slots=True)
class Event:
    action: str
    dedup_key: str
    severity: str = "error"
    summary: str = ""
    source: str = ""
    component: str = ""
    group: str = ""
    alert_class: str = ""
    labels: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    links: list = field(default_factory=list)
    raw: dict = field(default_factory=dict)
    group_key: str = ""
    security: bool = False
    occurred_at: datetime | None = None
    service_id: int | None = None  # set from the integration, or by routing rules
    integration_id: int | None = None


def capped_raw(raw, size):
    """Keep the payload as received unless it is large: then only say how large it was."""
    if size <= RAW_CAP_BYTES:
        return raw
    return {"truncated": True, "bytes": size}


def text(value, limit=MAX_FIELD):
    """A string field from untrusted JSON: anything non-string is turned into text, then capped."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    return value[:limit]
