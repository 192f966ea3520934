"""PagerDuty Events API v2: one event object, as `/v2/enqueue` takes it and `/batch` takes many."""

import uuid
from datetime import datetime

from ..events import ACTIONS, MAX_FIELD, MAX_SUMMARY, SEVERITIES, TRIGGER, Event, InvalidEvent, capped_raw, text
from . import register


def _timestamp(value, errors):
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    errors.append("'payload.timestamp' must be an ISO 8601 date-time with an offset")
    return None


def _links(value, name, errors):
    if value in (None, []):
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        errors.append(f"'{name}' must be a list of objects")
        return []
    kept = []
    for item in value[:20]:
        href = item.get("href") or item.get("src")
        if not isinstance(href, str) or not href:
            errors.append(f"'{name}' entries need an 'href'")
            return []
        entry = {"href": href[:2048], "text": text(item.get("text") or item.get("alt"))}
        if name == "images":
            entry["image"] = True
        kept.append(entry)
    return kept


def parse_event(body, *, size, routed=True, prefix=""):
    """One Events v2 object. `routed`: a `routing_key` is expected (checked by the caller)."""
    if not isinstance(body, dict):
        raise InvalidEvent([f"'{prefix or 'event'}' must be a JSON object"])
    errors = []
    action = body.get("event_action")
    if action not in ACTIONS:
        errors.append(f"'{prefix}event_action' must be one of trigger, acknowledge, resolve"
                      if action else f"'{prefix}event_action' is missing or blank")
    dedup_key = body.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or len(dedup_key) > MAX_FIELD):
        errors.append(f"'{prefix}dedup_key' must be a string of at most {MAX_FIELD} characters")
    if action in ACTIONS and action != TRIGGER and not dedup_key:
        errors.append(f"'{prefix}dedup_key' is required to {action}")
    payload = body.get("payload")
    event = Event(action=action or "", dedup_key=dedup_key or "")
    if action == TRIGGER:
        if not isinstance(payload, dict):
            errors.append(f"'{prefix}payload' is missing or not an object")
        else:
            summary, source, severity = payload.get("summary"), payload.get("source"), payload.get("severity")
            if not isinstance(summary, str) or not summary.strip():
                errors.append(f"'{prefix}payload.summary' is missing or blank")
            elif len(summary) > MAX_SUMMARY:
                errors.append(f"'{prefix}payload.summary' is longer than {MAX_SUMMARY} characters")
            if not isinstance(source, str) or not source.strip():
                errors.append(f"'{prefix}payload.source' is missing or blank")
            if severity not in SEVERITIES:
                errors.append(f"'{prefix}payload.severity' must be one of critical, error, warning, info")
            details = payload.get("custom_details")
            if details is not None and not isinstance(details, dict):
                details = {"details": details}
            event.summary = text(summary, MAX_SUMMARY)
            event.source = text(source)
            event.severity = severity if severity in SEVERITIES else "error"
            event.component = text(payload.get("component"))
            event.group = text(payload.get("group"))
            event.alert_class = text(payload.get("class"))
            event.details = details or {}
            event.occurred_at = _timestamp(payload.get("timestamp"), errors)
        event.links = _links(body.get("links"), f"{prefix}links", errors) + _links(
            body.get("images"), f"{prefix}images", errors)
    if errors:
        raise InvalidEvent(errors)
    if not event.dedup_key:
        event.dedup_key = uuid.uuid4().hex
    event.group_key = event.group or event.component
    # The routing key is a secret: it is not kept with the alert, which every reader may see.
    event.raw = capped_raw({name: value for name, value in body.items() if name != "routing_key"}, size)
    return event


@register("batch", kinds={"events-v2"})
def parse_batch(body, integration, size):
    """Up to 1,000 Events v2 objects, all valid or none taken."""
    if not isinstance(body, list):
        raise InvalidEvent(["the body must be a JSON array of events"])
    if not body:
        raise InvalidEvent(["the array holds no events"])
    if len(body) > 1000:
        raise InvalidEvent([f"at most 1000 events per batch, not {len(body)}"])
    events, errors = [], []
    share = max(1, size // len(body))
    for index, item in enumerate(body):
        try:
            events.append(parse_event(item, size=share, prefix=f"[{index}]."))
        except InvalidEvent as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidEvent(errors[:50])
    return events
