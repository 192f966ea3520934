"""Generic JSON webhooks: the integration's mapping says where summary, source, severity, dedup
key and status are found in the payload, as JMESPath expressions or plain dotted paths.

How an expression is read: one made only of dot-separated names, with no whitespace and none of
JMESPath's punctuation ([ ] { } ( ) | & ! = < > * @ ` ' " , ? $ \\), is a dotted path. Each name is
a key taken literally (so `alert.host-name` works, where JMESPath would need `alert."host-name"`),
and an all-digit name indexes a list (`checks.0.name`). Anything else is JMESPath. Where both
readings apply (`alert.host`), they agree.

With an `events` expression selecting a list, every item is one event and the other expressions
are read against the item; a body that is a JSON array is a list of items too."""

import hashlib
import re
from functools import lru_cache

import jmespath
from jmespath.exceptions import JMESPathError

from ..events import ACTIONS, MAX_SUMMARY, SEVERITIES, Event, InvalidEvent, capped_raw, default_severity, severity_of, text
from . import register
from .alertmanager import MAX_ALERTS, MAX_ERRORS, short_key

FIELDS = ("summary", "source", "severity", "dedup_key", "status", "component", "group", "class", "details",
          "labels", "events")
# An unmapped field is looked for under its own name, so `{"summary": …, "source": …}` needs no
# mapping; mapping a field to null turns that off (e.g. for a payload whose "status" means something else).
DEFAULT_MAPPING = {"summary": "summary", "source": "source", "severity": "severity", "dedup_key": "dedup_key",
                   "status": "status"}
STATUS_WORDS = {
    "trigger": "trigger", "triggered": "trigger", "firing": "trigger", "alerting": "trigger", "problem": "trigger",
    "open": "trigger", "down": "trigger", "critical": "trigger", "fail": "trigger", "failing": "trigger",
    "acknowledge": "acknowledge", "acknowledged": "acknowledge", "ack": "acknowledge",
    "resolve": "resolve", "resolved": "resolve", "ok": "resolve", "up": "resolve", "closed": "resolve",
    "recovered": "resolve", "recovery": "resolve", "normal": "resolve", "pass": "resolve", "passing": "resolve",
}
MAX_EXPRESSION = 512
_PLAIN_PATH = re.compile(r"[^.\s\[\]{}()|&!=<>*@`'\",?$\\]+(?:\.[^.\s\[\]{}()|&!=<>*@`'\",?$\\]+)*")


def _walk(names):
    def search(data):
        for name in names:
            if isinstance(data, dict):
                data = data.get(name)
            elif isinstance(data, list) and name.isdigit() and int(name) < len(data):
                data = data[int(name)]
            else:
                return None
        return data
    return search


@lru_cache(maxsize=2048)
def compile_expression(expression):
    """A function reading `expression` from a payload; ValueError says why an expression is bad."""
    if not isinstance(expression, str) or not expression.strip():
        raise ValueError("must be a non-empty string")
    if len(expression) > MAX_EXPRESSION:
        raise ValueError(f"must be at most {MAX_EXPRESSION} characters")
    expression = expression.strip()
    if _PLAIN_PATH.fullmatch(expression):
        return _walk(tuple(expression.split(".")))
    try:
        return jmespath.compile(expression).search
    except JMESPathError as exc:
        raise ValueError(f"is neither a dotted path nor valid JMESPath ({str(exc).splitlines()[0]})") from None


class Reader:
    """Reads mapped fields from one item, naming the field and expression in any error."""

    def __init__(self, mapping, errors, where):
        self.mapping, self.errors, self.where = mapping, errors, where
        self.failed = set()  # fields already reported, so that no second error follows from the first

    def __call__(self, item, name):
        expression = self.mapping.get(name)
        if expression is None:
            return None
        try:
            search = compile_expression(expression)
        except ValueError as exc:  # a mapping stored before options were checked
            self.fail(f"the mapping '{name}' {exc}", name)
            return None
        try:
            return search(item)
        except JMESPathError as exc:  # e.g. a function given the wrong type by this payload
            self.fail(f"the mapping '{name}' ({expression}) failed on this payload: {str(exc).splitlines()[0]}", name)
        return None

    def fail(self, message, name=None):
        self.failed.add(name)
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(f"{self.where}{message}")


def _table(options, name):
    value = options.get(name)
    return value if isinstance(value, dict) else {}


def _scalar(value):
    """Text of a mapped value; objects and arrays are not what a summary or key can be."""
    if isinstance(value, (dict, list)):
        return None
    return text(value, MAX_SUMMARY) if value is not None else ""


def _event(item, read, options, fallback_severity, share):
    fail = read.fail
    summary = (_scalar(read(item, "summary")) or "").strip()
    if not summary and "summary" not in read.failed:
        fail(f"'summary' is missing: its mapping ({read.mapping['summary']}) found no text in the payload")
    source = text(_scalar(read(item, "source")))
    status = read(item, "status")
    action = "trigger"
    if status is not None:
        word = str(status).strip().lower()
        action = _table(options, "status_map").get(word) or STATUS_WORDS.get(word)
        if action not in ACTIONS:
            fail(f"'status' '{text(status, 64)}' is not a known status; map it to trigger, acknowledge or resolve"
                 " in the integration's status_map")
    severity = read(item, "severity")
    word = str(severity).strip().lower() if isinstance(severity, (str, int, float)) else ""
    mapped = _table(options, "severity_map").get(word)
    severity = mapped if mapped in SEVERITIES else severity_of(word, fallback_severity)
    dedup_key = read(item, "dedup_key")
    # Read whole, not capped like other text: a long key is hashed by short_key, never cut.
    dedup_key = "" if isinstance(dedup_key, (dict, list, type(None))) else str(dedup_key)
    if not dedup_key:
        # The same summary from the same source is the same alert.
        dedup_key = hashlib.sha256(f"{summary}\0{source}".encode()).hexdigest()[:32]
    details = read(item, "details") if "details" in read.mapping else item
    labels = read(item, "labels")
    if labels is not None and not isinstance(labels, dict) and "labels" not in read.failed:
        fail(f"the mapping 'labels' ({read.mapping['labels']}) must select an object")
    return Event(
        action=action or "trigger",
        dedup_key=short_key(dedup_key),
        severity=severity,
        summary=summary,
        source=source,
        component=text(_scalar(read(item, "component"))),
        group=text(_scalar(read(item, "group"))),
        alert_class=text(_scalar(read(item, "class"))),
        labels={text(k): text(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        details=details if isinstance(details, dict) else ({} if details is None else {"details": details}),
        raw=capped_raw(item, share),
    )


def _items(body, mapping, errors):
    if mapping.get("events") is not None:
        items = Reader(mapping, errors, "")(body, "events")
        if errors:
            raise InvalidEvent(errors)
        if not isinstance(items, list):
            raise InvalidEvent([f"the mapping 'events' ({mapping['events']}) must select an array of events"])
        return items, True
    if isinstance(body, list):
        return body, True
    return [body], False


@register("webhook", kinds={"webhook"})
def parse_webhook(body, integration, size):
    options = integration.options
    mapping = {**DEFAULT_MAPPING, **_table(options, "mapping")}
    errors = []
    items, several = _items(body, mapping, errors)
    if not items:
        raise InvalidEvent(["the payload holds no events"])
    if len(items) > MAX_ALERTS:
        raise InvalidEvent([f"the payload holds {len(items)} events; at most {MAX_ALERTS} are taken at once"])
    fallback = default_severity(integration.options)
    share = max(1, size // len(items))
    events = []
    for index, item in enumerate(items):
        read = Reader(mapping, errors, f"events[{index}]: " if several else "")
        events.append(_event(item, read, options, fallback, share))
    if errors:
        raise InvalidEvent(errors)
    return events
