"""The ingestion endpoints' own OpenAPI 3.1 document, served at /integrations/openapi.json:
request shapes precise enough to fuzz from, and every answer the fast path gives."""

import functools

KEY = {"type": "string", "minLength": 16, "maxLength": 64, "pattern": "^[0-9A-Za-z_-]+$",
       "description": "The integration key (32 hex digits as Tocsin makes them)"}
SHORT = {"type": "string", "maxLength": 255}
LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
TIME = {"type": "string", "format": "date-time"}


def _event(*, routed):
    """An Events v2 object: a trigger carries a payload, acknowledge and resolve name an alert."""
    common = {
        "dedup_key": {**SHORT, "minLength": 1,
                      "description": "Generated and returned when a trigger has none"},
        "client": {"type": "string"}, "client_url": {"type": "string"},
        "links": {"type": "array", "maxItems": 20, "items": {"$ref": "#/components/schemas/Link"}},
        "images": {"type": "array", "maxItems": 20, "items": {"$ref": "#/components/schemas/Image"}},
    }
    if routed:
        common["routing_key"] = KEY
    first = ["routing_key"] if routed else []
    trigger = {
        "type": "object",
        "required": [*first, "event_action", "payload"],
        "properties": {**common, "event_action": {"const": "trigger"},
                       "payload": {"$ref": "#/components/schemas/Payload"}},
    }
    follow_up = {
        "type": "object",
        "required": [*first, "event_action", "dedup_key"],
        "properties": {**common, "event_action": {"enum": ["acknowledge", "resolve"]}},
    }
    return {"oneOf": [trigger, follow_up]}


def _alertmanager_alert(*, grafana=False):
    properties = {
        "status": {"enum": ["firing", "resolved"]},
        "labels": LABELS,
        "annotations": LABELS,
        "startsAt": TIME,
        "endsAt": TIME,
        "generatorURL": {"type": "string"},
        "fingerprint": {**SHORT, "minLength": 1},
    }
    if grafana:
        properties.update({
            "values": {"type": ["object", "null"], "additionalProperties": {"type": "number"}},
            "valueString": {"type": "string"}, "silenceURL": {"type": "string"},
            "dashboardURL": {"type": "string"}, "panelURL": {"type": "string"},
            "imageURL": {"type": "string"}, "orgId": {"type": "integer"},
        })
    return {"type": "object", "required": ["status", "labels"], "properties": properties}


def _group(*, grafana=False):
    """The group notification Alertmanager (webhook version 4) and Grafana both send."""
    properties = {
        "version": {"type": "string"},
        "groupKey": {"type": "string"},
        "truncatedAlerts": {"type": "integer", "minimum": 0},
        "status": {"enum": ["firing", "resolved"]},
        "receiver": {"type": "string"},
        "groupLabels": LABELS,
        "commonLabels": LABELS,
        "commonAnnotations": LABELS,
        "externalURL": {"type": "string"},
        "alerts": {"type": "array", "minItems": 1, "maxItems": 1000,
                   "items": {"$ref": "#/components/schemas/GrafanaAlert" if grafana else
                             "#/components/schemas/AlertmanagerAlert"}},
    }
    if grafana:
        properties.update({
            "orgId": {"type": "integer"}, "title": {"type": "string"},
            "state": {"enum": ["alerting", "ok", "no_data", "pending", "paused"]},
            "message": {"type": "string"},
        })
        required = ["status", "alerts"]
    else:
        properties["version"] = {"const": "4"}
        required = ["version", "status", "alerts"]
    return {"type": "object", "required": required, "properties": properties}


def _error(description, *, retry=False):
    answer = {"description": description,
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if retry:
        answer["headers"] = {"Retry-After": {
            "required": True, "description": "Seconds to wait before sending again",
            "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
    return answer


def _answers(accepted, *, not_found=True):
    answers = {
        "202": {"description": "Stored durably (the answer comes after the commit)",
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{accepted}"}}}},
        "400": _error("Malformed JSON, a missing or wrong field (each named in `errors`), or too deeply nested"),
        "405": {**_error("Wrong method"), "headers": {"Allow": {"required": True, "schema": {"type": "string"}}}},
        "413": _error("The body is larger than 1 MiB"),
        "429": _error("Too many events for this key, or too many unknown keys from this address", retry=True),
        "503": _error("Storage is unavailable; nothing was stored", retry=True),
    }
    if not_found:
        answers["404"] = _error("No integration of this kind has this key (never says which)")
    return answers


def _json_body(ref, description):
    return {"required": True, "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _format(operation_id, summary, body_ref, body_description):
    return {"post": {
        "operationId": operation_id, "summary": summary, "tags": ["ingestion"],
        "parameters": [{"$ref": "#/components/parameters/Key"}],
        "requestBody": _json_body(body_ref, body_description),
        "responses": _answers("Accepted"),
    }}


def _heartbeat_operation(method):
    answers = _answers("Accepted")
    answers["200"] = {"description": "The ping is recorded; an open missed-heartbeat alert resolves",
                      "content": {"application/json": {"schema": {"type": "object"}}}}
    del answers["202"], answers["413"]
    return {"operationId": f"heartbeat_{method}", "summary": "A dead-man switch ping", "tags": ["ingestion"],
            "parameters": [{"$ref": "#/components/parameters/Key"}], "responses": answers}


def _schemas():
    return {
        "Payload": {
            "type": "object",
            "required": ["summary", "source", "severity"],
            "properties": {
                "summary": {"type": "string", "minLength": 1, "maxLength": 1024, "pattern": r"\S"},
                "source": {"type": "string", "minLength": 1, "pattern": r"\S"},
                "severity": {"enum": ["critical", "error", "warning", "info"]},
                "timestamp": {**TIME, "description": "ISO 8601 with an offset"},
                "component": {"type": "string"}, "group": {"type": "string"}, "class": {"type": "string"},
                "custom_details": {"type": "object"},
            },
        },
        "Link": {"type": "object", "required": ["href"],
                 "properties": {"href": {"type": "string", "minLength": 1}, "text": {"type": "string"}}},
        "Image": {"type": "object", "required": ["src"],
                  "properties": {"src": {"type": "string", "minLength": 1}, "href": {"type": "string"},
                                 "alt": {"type": "string"}}},
        "Event": _event(routed=True),
        "BatchEvent": _event(routed=False),
        "Batch": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {"$ref": "#/components/schemas/BatchEvent"}},
        "AlertmanagerAlert": _alertmanager_alert(),
        "Alertmanager": _group(),
        "GrafanaAlert": _alertmanager_alert(grafana=True),
        "Grafana": _group(grafana=True),
        "Webhook": {
            "type": ["object", "array"],
            "description": ("Any JSON object (or an array of them); the integration's mapping picks its fields. "
                            "Unmapped, they are read under their own names, as below."),
            "properties": {"summary": {"type": "string"}, "source": {"type": "string"},
                           "severity": {"type": "string"}, "dedup_key": {"type": "string"},
                           "status": {"type": "string"}},
        },
        "EventAccepted": {
            "type": "object", "required": ["status", "message", "dedup_key"],
            "properties": {"status": {"const": "success"}, "message": {"type": "string"},
                           "dedup_key": {"type": "string"}},
        },
        "Accepted": {
            "type": "object", "required": ["status", "message", "dedup_keys"],
            "properties": {"status": {"const": "success"}, "message": {"type": "string"},
                           "dedup_keys": {"type": "array", "items": {"type": "string"}}},
        },
        "Error": {
            "type": "object", "required": ["status", "message", "errors"],
            "properties": {"status": {"type": "string"}, "message": {"type": "string"},
                           "errors": {"type": "array", "items": {"type": "string"}}},
        },
    }


@functools.cache
def document() -> dict:
    """Built once per process; callers must not change it."""
    enqueue_answers = _answers("EventAccepted", not_found=False)
    enqueue_answers["400"] = _error("Invalid event, or `Invalid routing key` for a key Tocsin does not know")
    heartbeat = {"get": _heartbeat_operation("get"), "post": _heartbeat_operation("post")}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tocsin alert ingestion", "version": "1",
            "description": ("Where monitoring sends alerts. `/v2/enqueue` is compatible with PagerDuty's Events "
                            "API v2; the other endpoints carry the integration key in the path. Bodies over 1 MiB "
                            "or nested deeper than 32 levels are refused."),
        },
        "paths": {
            "/v2/enqueue": {"post": {
                "operationId": "enqueue", "summary": "Trigger, acknowledge or resolve an alert (Events API v2)",
                "tags": ["ingestion"], "requestBody": _json_body("Event", "One Events v2 object"),
                "responses": enqueue_answers,
            }},
            "/integrations/{key}/batch": _format(
                "batch", "Up to 1,000 Events v2 objects, all taken or none", "Batch",
                "A JSON array of Events v2 objects without `routing_key`"),
            "/integrations/{key}/alertmanager": _format(
                "alertmanager", "A Prometheus Alertmanager webhook (version 4)", "Alertmanager",
                "Alertmanager's group notification"),
            "/integrations/{key}/grafana": _format(
                "grafana", "A Grafana alerting webhook", "Grafana", "Grafana's group notification"),
            "/integrations/{key}/webhook": _format(
                "webhook", "Generic JSON, read through the integration's field mapping", "Webhook", "Any JSON object"),
            "/integrations/{key}/heartbeat": heartbeat,
        },
        "components": {
            "parameters": {"Key": {"name": "key", "in": "path", "required": True, "schema": KEY}},
            "schemas": _schemas(),
        },
    }
