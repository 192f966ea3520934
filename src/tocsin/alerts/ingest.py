"""The ingestion fast path: a lean ASGI app in front of Django for `/v2/enqueue` and
`/integrations/<key>/<format>`. Parse with orjson, check cheaply, hand the events to the
group-commit writer and answer 202 once they are committed."""

import logging

import orjson

from . import formats, heartbeats, limits, lookup, routing
from .events import InvalidEvent
from .formats.events_v2 import parse_event
from .openapi import document as openapi_document
from .writer import WriteFailed, writer

log = logging.getLogger("tocsin.alerts")
MAX_BODY = 1024 * 1024
MAX_DEPTH = 32
INVALID_KEY = "Invalid routing key"
formats.load()


class Refusal(Exception):
    def __init__(self, status, body, headers=()):
        self.status, self.body, self.headers = status, body, list(headers)


def invalid(errors, message="Event object is invalid", status=400):
    return Refusal(status, {"status": "invalid event", "message": message, "errors": list(errors)})


def too_many(seconds, message):
    return Refusal(429, {"status": "throttle event", "message": message, "errors": [message]},
                   [(b"retry-after", str(seconds).encode())])


async def read_body(scope, receive):
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY:
            raise invalid([f"the body is larger than {MAX_BODY} bytes"], "Request too large", 413)
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Refusal(400, {"status": "invalid event", "message": "The client went away", "errors": []})
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise invalid([f"the body is larger than {MAX_BODY} bytes"], "Request too large", 413)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _deeper_than(value, room):
    """Whether `value` nests more than `room` levels deep, a scalar inside a container counting as
    a level. Only containers are walked into; the recursion stops after `room` levels."""
    if room <= 0:
        return True
    if not isinstance(value, (dict, list)):
        return False
    if room == 1:
        return len(value) > 0
    for child in value.values() if isinstance(value, dict) else value:
        if isinstance(child, (dict, list)) and _deeper_than(child, room - 1):
            return True
    return False


def parse_json(body):
    if not body:
        raise invalid(["the body is empty; send a JSON document"], "Malformed JSON")
    if b"\\u0000" in body:  # (PostgreSQL stores no NUL in text or jsonb; no alert needs one)
        raise invalid(["the JSON holds a NUL character (\\u0000), which Tocsin does not store"], "Malformed JSON")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        problem = "the body is not valid UTF-8" if "UTF-8" in str(exc) else f"the body is not valid JSON ({exc})"
        raise invalid([problem], "Malformed JSON") from None
    if body.count(b"{") + body.count(b"[") > MAX_DEPTH and _deeper_than(data, MAX_DEPTH):
        raise invalid([f"the JSON is nested deeper than {MAX_DEPTH} levels"], "Malformed JSON")
    return data


def client_ip(scope):
    client = scope.get("client")
    return client[0] if client else "unknown"


async def integration_for(key, scope, refusal):
    """The integration of `key`, or `refusal` (and a strike against the client's address). A key
    already known is let through whatever the address did: one stale key on a shared sender, or
    a proxy in front, must not stop the valid ones."""
    info = lookup.known(key)
    if info is not None:
        return info
    ip = client_ip(scope)
    waiting = limits.failed_keys.blocked(ip, limits.FAILED_KEYS_PER_MINUTE)
    if waiting:
        raise too_many(waiting, "Too many unknown keys from this address; slow down")
    info = await lookup.find_async(key)
    if info is None:
        limits.failed_keys.take(ip, limits.FAILED_KEYS_PER_MINUTE)
        raise refusal
    return info


def check_rate(info, count):
    per_minute = info.options.get("rate_limit_per_minute") or limits.DEFAULT_EVENTS_PER_MINUTE
    waiting = limits.per_key.take(info.key_hash, per_minute, count)
    if waiting:
        raise too_many(waiting, f"This integration accepts {per_minute} events a minute; retry later")


async def store(events):
    try:
        await writer.write(events)
    except WriteFailed:
        raise Refusal(503, {"status": "error", "message": "Events could not be stored; retry",
                            "errors": ["storage unavailable"]}, [(b"retry-after", b"1")]) from None


async def enqueue(scope, receive):
    raw = await read_body(scope, receive)
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise invalid(["the body must be a JSON object"])
    key = body.get("routing_key")
    if not isinstance(key, str) or not key:
        raise invalid(["'routing_key' is missing or blank"])
    info = await integration_for(key, scope, invalid([INVALID_KEY]))
    if info.kind != "events-v2":
        limits.failed_keys.take(client_ip(scope), limits.FAILED_KEYS_PER_MINUTE)
        raise invalid([INVALID_KEY])
    try:
        event = parse_event(body, size=len(raw))
    except InvalidEvent as exc:
        raise invalid(exc.errors) from None
    check_rate(info, 1)
    await store(routing.bind([event], info))
    return 202, {"status": "success", "message": "Event processed", "dedup_key": event.dedup_key}


NOT_FOUND = Refusal(404, {"status": "not found", "message": "No such integration endpoint", "errors": []})


async def integration_endpoint(scope, receive, key, name):
    method = scope["method"]
    if name == "heartbeat":
        if method not in ("GET", "POST", "HEAD"):
            raise Refusal(405, {"status": "error", "message": "Use GET or POST", "errors": []}, [(b"allow", b"GET, POST")])
        info = await integration_for(key, scope, NOT_FOUND)
        if info.kind != "heartbeat":
            raise NOT_FOUND
        check_rate(info, 1)
        return 200, await heartbeats.ping_async(info)
    if name not in formats.FORMATS:
        raise NOT_FOUND
    if method != "POST":
        raise Refusal(405, {"status": "error", "message": "Use POST", "errors": []}, [(b"allow", b"POST")])
    info = await integration_for(key, scope, NOT_FOUND)
    parse, kinds = formats.FORMATS[name]
    if info.kind not in kinds:
        raise NOT_FOUND
    raw = await read_body(scope, receive)
    try:
        events = parse(parse_json(raw), info, len(raw))
    except InvalidEvent as exc:
        raise invalid(exc.errors) from None
    check_rate(info, max(1, len(events)))
    if events:
        await store(routing.bind(events, info))
    return 202, {"status": "success", "message": "Events processed", "dedup_keys": [e.dedup_key for e in events]}


async def respond(send, status, body, headers=()):
    payload = orjson.dumps(body)
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
        (b"cache-control", b"no-store"), *headers]})
    await send({"type": "http.response.body", "body": payload})


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    path = scope["path"]
    try:
        if path.rstrip("/") == "/v2/enqueue":
            if scope["method"] != "POST":
                raise Refusal(405, {"status": "error", "message": "Use POST", "errors": []}, [(b"allow", b"POST")])
            status, body = await enqueue(scope, receive)
        elif path == "/integrations/openapi.json":
            status, body = 200, openapi_document()
        else:
            parts = path.strip("/").split("/")
            if len(parts) != 3 or parts[0] != "integrations":
                raise NOT_FOUND
            status, body = await integration_endpoint(scope, receive, parts[1], parts[2])
    except Refusal as refusal:
        await respond(send, refusal.status, refusal.body, refusal.headers)
        return
    except Exception:
        log.exception("ingestion failed")
        await respond(send, 500, {"status": "error", "message": "Internal error; retry", "errors": []},
                      [(b"retry-after", b"1")])
        return
    await respond(send, status, body)
