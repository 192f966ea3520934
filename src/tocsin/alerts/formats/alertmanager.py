"""Prometheus Alertmanager's webhook (version 4): one Tocsin alert per alert of the notified group.

Grafana's unified alerting sends the same group shape with a few fields of its own, so the
group walk here takes a hook for them (see grafana.py)."""

import hashlib
from datetime import datetime

import orjson

from ..events import (MAX_FIELD, MAX_SUMMARY, RESOLVE, TRIGGER, Event, InvalidEvent, capped_raw, default_severity,
                      severity_of, text)
from . import register

STATUSES = {"firing": TRIGGER, "resolved": RESOLVE}
# An Alertmanager group holds at most a few thousand alerts within the 1 MiB body cap; a bound
# keeps a crafted body of tiny alerts from costing more work than a real one could.
MAX_ALERTS = 10_000
MAX_ERRORS = 50
# Labels that identify what is alerting, in the order a summary names them.
KEY_LABELS = ("instance", "job", "service", "namespace", "pod", "host", "cluster")
def short_key(value):
    """A stable key of at most MAX_FIELD characters: long keys become a hash, never a truncation
    (two long keys sharing a prefix must not merge)."""
    if len(value) <= MAX_FIELD:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def labels_key(labels):
    """The dedup key of an alert without a fingerprint: a hash of its sorted labels."""
    return "labels:" + hashlib.sha256(orjson.dumps(labels, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def web_link(value, label):
    """A link for responders, only for http(s) addresses: anything else (javascript:, data:) is
    not something a page should ever make clickable."""
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return [{"href": value[:2048], "text": label}]
    return []


class Shape:
    """Collects shape errors, each naming its field, and hands back what passed."""

    def __init__(self):
        self.errors = []

    def fail(self, message):
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)

    def optional(self, parent, name, kind, where, what):
        value = parent.get(name)
        if value is None or isinstance(value, kind) and not isinstance(value, bool):
            return value
        self.fail(f"'{where}{name}' must be {what}")
        return None

    def strings(self, parent, name, where, required=False):
        """An object of string values (labels, annotations): {} when absent and not required,
        None when malformed (the error is recorded)."""
        value = parent.get(name)
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.fail(f"'{where}{name}' must be an object" + (" (it is required)" if value is None else ""))
            return None
        for key, item in value.items():
            if not isinstance(item, str):
                self.fail(f"'{where}{name}.{key}' must be a string")
                return None
        return value

    def timestamp(self, parent, name, where):
        value = parent.get(name)
        if value in (None, ""):
            return None
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is not None:
                return parsed
        self.fail(f"'{where}{name}' must be an RFC 3339 date-time")
        return None


def summary_of(labels, annotations):
    for name in ("summary", "description"):
        if annotations.get(name, "").strip():
            return annotations[name].strip()
    name = labels.get("alertname", "").strip()
    shown = [key for key in KEY_LABELS if key in labels] or sorted(
        key for key in labels if key not in ("alertname", "severity"))
    described = ", ".join(f"{key}={labels[key]}" for key in shown)
    if name and described:
        return f"{name} ({described})"
    return name or described


def _alert(item, where, group, shape, integration, share, extra):
    status = item.get("status")
    if not isinstance(status, str) or status not in STATUSES:
        status = None
        shape.fail(f"'{where}status' must be 'firing' or 'resolved'")
    labels = shape.strings(item, "labels", where, required=True)
    annotations = shape.strings(item, "annotations", where)
    well_formed = labels is not None and annotations is not None
    labels, annotations = labels or {}, annotations or {}
    starts_at = shape.timestamp(item, "startsAt", where)
    ends_at = shape.timestamp(item, "endsAt", where)
    generator = shape.optional(item, "generatorURL", str, where, "a string")
    fingerprint = shape.optional(item, "fingerprint", str, where, "a string")
    if fingerprint is not None and len(fingerprint) > MAX_FIELD:
        shape.fail(f"'{where}fingerprint' must be at most {MAX_FIELD} characters")
    summary = summary_of(labels, annotations)
    if not summary and well_formed:
        shape.fail(f"'{where}annotations.summary' is missing, and there is no 'labels.alertname' to name the alert")
    details = dict(annotations)
    if item.get("startsAt"):
        details["startsAt"] = item["startsAt"]
    if status == "resolved" and item.get("endsAt"):
        details["endsAt"] = item["endsAt"]
    if group["common_labels"]:
        details["commonLabels"] = group["common_labels"]
    event = Event(
        action=STATUSES.get(status or "", TRIGGER),
        dedup_key=fingerprint or labels_key(labels),
        severity=severity_of(labels.get("severity"), default_severity(integration.options)),
        summary=text(summary, MAX_SUMMARY),
        source=text(labels.get("instance") or labels.get("job") or group["external_url"]),
        alert_class=text(labels.get("alertname")),
        labels=labels,
        details=details,
        links=web_link(generator, "Source") + web_link(annotations.get("runbook_url"), "Runbook"),
        raw=capped_raw(item, share),
        group_key=group["group_key"],
        occurred_at=ends_at if status == "resolved" else starts_at,
    )
    if extra is not None:
        extra(item, where, shape, event)
    return event


def parse_group(body, integration, size, *, version=None, extra=None, group_extra=None):
    """Events for every alert of an Alertmanager-shaped notification.

    `version`: the only `version` accepted, if any; `extra(item, where, shape, event)` and
    `group_extra(body, shape)` add a sender's own fields."""
    if not isinstance(body, dict):
        raise InvalidEvent(["the body must be a JSON object (an alert group notification)"])
    shape = Shape()
    if version is not None and body.get("version") not in (None, version):
        shape.fail(f"'version' must be \"{version}\"")
    elif version is None:
        shape.optional(body, "version", str, "", "a string")
    if body.get("status") not in (None, *STATUSES):
        shape.fail("'status' must be 'firing' or 'resolved'")
    for name in ("receiver", "externalURL"):
        shape.optional(body, name, str, "", "a string")
    group_key = shape.optional(body, "groupKey", str, "", "a string") or ""
    shape.strings(body, "groupLabels", "")
    common_labels = shape.strings(body, "commonLabels", "") or {}
    shape.strings(body, "commonAnnotations", "")
    shape.optional(body, "truncatedAlerts", int, "", "a whole number")
    if group_extra is not None:
        group_extra(body, shape)
    alerts = body.get("alerts")
    if not isinstance(alerts, list):
        shape.fail("'alerts' must be an array" + (" (it is required)" if alerts is None else ""))
        raise InvalidEvent(shape.errors)
    if not alerts:
        shape.fail("'alerts' holds no alerts")
    if len(alerts) > MAX_ALERTS:
        shape.fail(f"'alerts' holds {len(alerts)} alerts; at most {MAX_ALERTS} are taken per notification")
    if shape.errors:
        raise InvalidEvent(shape.errors)
    group = {"group_key": short_key(group_key), "common_labels": common_labels,
             "external_url": body.get("externalURL") or ""}
    share = max(1, size // len(alerts))
    events = []
    for index, item in enumerate(alerts):
        where = f"alerts[{index}]."
        if not isinstance(item, dict):
            shape.fail(f"'alerts[{index}]' must be an object")
            continue
        events.append(_alert(item, where, group, shape, integration, share, extra))
    if shape.errors:
        raise InvalidEvent(shape.errors)
    return events


@register("alertmanager", kinds={"alertmanager"})
def parse_alertmanager(body, integration, size):
    return parse_group(body, integration, size, version="4")
