"""Schemathesis over the ingestion endpoints' own OpenAPI document, against the fast-path ASGI app in
process: no 5xx, and every answer (status, headers, body) as the document says. Real integrations
of every kind exist, and part of the generated requests carry their keys, so the fuzzing reaches
past the key check into parsing and storage."""

import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tocsin.alerts import limits
from tocsin.alerts.ingest import app
from tocsin.alerts.models import Alert, Integration

# A bounded profile: the operations together stay around half a minute on two cores.
EXAMPLES = 30
FORMAT_KINDS = {"batch": "events-v2", "alertmanager": "alertmanager", "grafana": "grafana",
                "webhook": "webhook", "heartbeat": "heartbeat"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]

schema = schemathesis.openapi.from_asgi("/integrations/openapi.json", app)


@pytest.fixture
def keys(transactional_db, integration):
    """A key of every kind (e-mail too: its key must not open any HTTP endpoint)."""
    return {kind: integration(kind)[1] for kind, _ in Integration.KINDS}


def endpoint_of(path):
    return path.rstrip("/").rsplit("/", 1)[-1]


def with_real_keys(case, keys, turn):
    """Two requests in three carry a known key: the right kind's, then another kind's."""
    choice = turn % 3
    if choice == 2:
        return
    if case.path == "/v2/enqueue":
        if isinstance(case.body, dict):
            case.body["routing_key"] = keys["events-v2" if choice == 0 else "webhook"]
        return
    right = FORMAT_KINDS[endpoint_of(case.path)]
    case.path_parameters["key"] = keys[right if choice == 0 else "email"]


@pytest.fixture
def turns():
    return itertools.count()


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_ingestion_never_answers_5xx_and_keeps_its_word(case, keys, turns):
    # Unknown keys are limited per address; start each request afresh so later ones reach parsing.
    limits.failed_keys._buckets.clear()
    with_real_keys(case, keys, next(turns))
    case.call_and_validate(checks=CHECKS)


def test_the_document_describes_every_fast_path_endpoint(ingest):
    response = ingest.get("/integrations/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths) == {"/v2/enqueue", *(f"/integrations/{{key}}/{name}" for name in FORMAT_KINDS)}
    for path, operations in paths.items():
        for method, operation in operations.items():
            answers = operation["responses"]
            assert {"400", "405", "429", "503"} <= set(answers), (path, method)
            assert answers["429"]["headers"]["Retry-After"]["required"] is True
    assert paths["/integrations/{key}/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Batch"}
    assert response.json()["components"]["schemas"]["Batch"]["maxItems"] == 1000


def test_fuzzed_traffic_reached_storage(transactional_db, keys):
    """The known keys do open the door: a valid event as the document describes it is stored."""
    from .conftest import FastPath
    event = {"routing_key": keys["events-v2"], "event_action": "trigger",
             "payload": {"summary": "x", "source": "y", "severity": "info"}}
    assert FastPath().post("/v2/enqueue", json=event).status_code == 202
    assert Alert.objects.count() == 1
