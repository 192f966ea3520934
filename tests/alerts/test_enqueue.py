"""POST /v2/enqueue: PagerDuty Events API v2 on the fast path (E1, E2)."""

import orjson
import pytest

from tocsin.alerts.models import Alert
from tocsin.incidents.models import Incident


def trigger(key, dedup_key=None, summary="Disk full on db-1", severity="critical", **extra):
    body = {"routing_key": key, "event_action": "trigger",
            "payload": {"summary": summary, "source": "db-1", "severity": severity, **extra}}
    if dedup_key:
        body["dedup_key"] = dedup_key
    return body


def test_a_trigger_is_stored_and_opens_an_incident_at_once(ingest, integration, processed):
    _, key = integration()
    response = ingest.post("/v2/enqueue", json=trigger(key, "disk-db-1"))
    assert response.status_code == 202
    assert response.json() == {"status": "success", "message": "Event processed", "dedup_key": "disk-db-1"}
    alert = Alert.objects.get()
    assert (alert.status, alert.severity, alert.occurrences, alert.dirty) == ("triggered", "critical", 1, True)
    processed()
    alert.refresh_from_db()
    incident = Incident.objects.get()
    assert alert.incident == incident and alert.handling == Alert.PAGED and not alert.dirty
    assert (incident.title, incident.urgency, incident.alert_key) == ("Disk full on db-1", "high", "disk-db-1")


def test_repeats_update_the_open_alert_and_page_no_one_again(ingest, integration, processed):
    _, key = integration()
    ingest.post("/v2/enqueue", json=trigger(key, "k1"))
    processed()
    for summary in ("again", "and again"):
        assert ingest.post("/v2/enqueue", json=trigger(key, "k1", summary=summary, severity="warning")).status_code == 202
    alert = Alert.objects.get()
    assert (alert.occurrences, alert.summary, alert.severity, alert.dirty) == (3, "and again", "warning", False)
    assert Incident.objects.count() == 1


def test_a_missing_dedup_key_is_generated_and_returned(ingest, integration):
    _, key = integration()
    dedup_key = ingest.post("/v2/enqueue", json=trigger(key)).json()["dedup_key"]
    assert len(dedup_key) == 32 and Alert.objects.get().dedup_key == dedup_key


def test_acknowledge_and_resolve_move_the_incident_when_all_its_alerts_agree(ingest, integration, processed):
    _, key = integration()
    ingest.post("/v2/enqueue", json=trigger(key, "k1"))
    processed()
    ingest.post("/v2/enqueue", json={"routing_key": key, "event_action": "acknowledge", "dedup_key": "k1"})
    processed()
    assert Incident.objects.get().status == Incident.ACKNOWLEDGED
    ingest.post("/v2/enqueue", json={"routing_key": key, "event_action": "resolve", "dedup_key": "k1"})
    processed()
    assert Incident.objects.get().status == Incident.RESOLVED
    assert Alert.objects.get().status == Alert.RESOLVED


def test_a_trigger_after_resolve_opens_a_new_alert_and_incident(ingest, integration, processed):
    _, key = integration()
    ingest.post("/v2/enqueue", json=trigger(key, "k1"))
    ingest.post("/v2/enqueue", json={"routing_key": key, "event_action": "resolve", "dedup_key": "k1"})
    ingest.post("/v2/enqueue", json=trigger(key, "k1"))
    processed()
    assert sorted(Alert.objects.values_list("status", flat=True)) == ["resolved", "triggered"]
    assert Incident.objects.filter(status=Incident.TRIGGERED).count() == 1


def test_acknowledge_without_an_open_alert_is_accepted_and_ignored(ingest, integration):
    _, key = integration()
    response = ingest.post("/v2/enqueue", json={"routing_key": key, "event_action": "acknowledge", "dedup_key": "nope"})
    assert response.status_code == 202 and not Alert.objects.exists()


def test_resolving_the_incident_resolves_its_alerts(ingest, integration, processed, make_user):
    from tocsin.core.audit import Actor
    from tocsin.incidents.services import resolve
    _, key = integration()
    ingest.post("/v2/enqueue", json=trigger(key, "k1"))
    processed()
    resolve(Incident.objects.get(), actor=Actor.user(make_user("ops")))
    assert Alert.objects.get().status == Alert.RESOLVED


@pytest.mark.parametrize("body, error", [
    ({"event_action": "trigger"}, "'routing_key' is missing or blank"),
    ({"routing_key": "0" * 32, "event_action": "trigger",
      "payload": {"summary": "x", "source": "y", "severity": "error"}}, "Invalid routing key"),
])
def test_bad_keys_get_the_pagerduty_error_shape(ingest, body, error):
    response = ingest.post("/v2/enqueue", json=body)
    assert response.status_code == 400
    assert response.json()["status"] == "invalid event" and response.json()["errors"] == [error]


@pytest.mark.parametrize("payload, error", [
    ({"source": "y", "severity": "error"}, "'payload.summary' is missing or blank"),
    ({"summary": "x", "severity": "error"}, "'payload.source' is missing or blank"),
    ({"summary": "x", "source": "y", "severity": "fatal"}, "'payload.severity' must be one of critical, error, warning, info"),
    ({"summary": "x", "source": "y", "severity": "info", "timestamp": "yesterday"}, "'payload.timestamp' must be"),
])
def test_invalid_events_name_the_field_and_store_nothing(ingest, integration, payload, error):
    _, key = integration()
    response = ingest.post("/v2/enqueue", json={"routing_key": key, "event_action": "trigger", "payload": payload})
    assert response.status_code == 400 and response.json()["errors"][0].startswith(error)
    assert not Alert.objects.exists()


@pytest.mark.parametrize("content, problem", [
    (b"{not json", "not valid JSON"),
    (b'{"a": "\xff\xfe"}', "not valid UTF-8"),
    (b"[" * 40 + b"]" * 40, "nested deeper"),
    (b"", "empty"),
    (b'{"event_action": "trigger", "payload": {"summary": "a\\u0000b"}}', "NUL character"),
])
def test_malformed_bodies_are_refused(ingest, content, problem):
    response = ingest.post("/v2/enqueue", content=content)
    assert response.status_code == 400 and problem in response.json()["errors"][0]


def test_bodies_over_one_mebibyte_are_refused(ingest, integration):
    _, key = integration()
    body = trigger(key)
    body["payload"]["custom_details"] = {"blob": "x" * (1024 * 1024)}
    response = ingest.post("/v2/enqueue", json=body)
    assert response.status_code == 413 and not Alert.objects.exists()


def test_a_flood_on_one_key_gets_429_with_retry_after(ingest, integration):
    _, key = integration(rate_limit_per_minute=60)
    codes = [ingest.post("/v2/enqueue", json=trigger(key, f"k{n}")).status_code for n in range(15)]
    assert codes[:10] == [202] * 10 and codes[-1] == 429
    response = ingest.post("/v2/enqueue", json=trigger(key, "k99"))
    assert int(response.headers["retry-after"]) >= 1
    assert Alert.objects.count() == codes.count(202)


def test_guessing_keys_is_throttled_per_address(ingest):
    body = {"routing_key": "f" * 32, "event_action": "trigger", "payload": {"summary": "x", "source": "y", "severity": "info"}}
    codes = [ingest.post("/v2/enqueue", json=body).status_code for _ in range(40)]
    assert codes[0] == 400 and codes[-1] == 429


def test_an_alert_that_fails_processing_holds_up_no_other_and_is_retried(ingest, integration, processed,
                                                                        monkeypatch):
    from tocsin.alerts import processing
    from tocsin.engine.models import Job
    _, key = integration()
    ingest.post("/v2/enqueue", json=trigger(key, "bad", summary="poison"))
    ingest.post("/v2/enqueue", json=trigger(key, "good", summary="fine"))
    real = processing.open_incident

    def fussy(alert, now):
        incident = real(alert, now)  # written, then rolled back with the alert's savepoint
        if alert.summary == "poison":
            raise RuntimeError("injected failure")
        return incident
    monkeypatch.setattr(processing, "open_incident", fussy)
    processed()
    bad, good = Alert.objects.get(dedup_key="bad"), Alert.objects.get(dedup_key="good")
    assert good.incident is not None and bad.incident is None and bad.reason == "processing failed; retrying"
    assert list(Incident.objects.values_list("title", flat=True)) == ["fine"]
    assert Job.objects.filter(kind="alerts.recheck", state=Job.PENDING).count() == 1


def test_the_routing_key_is_not_kept_with_the_alert_and_large_payloads_are_capped(ingest, integration):
    _, key = integration()
    ingest.post("/v2/enqueue", json=trigger(key, "small"))
    assert "routing_key" not in Alert.objects.get(dedup_key="small").raw
    big = trigger(key, "big")
    big["payload"]["custom_details"] = {"log": "x" * 100_000}
    assert ingest.post("/v2/enqueue", json=big).status_code == 202
    assert Alert.objects.get(dedup_key="big").raw == {"truncated": True, "bytes": len(orjson.dumps(big))}


def test_a_known_key_is_accepted_from_an_address_that_guessed_wrong(ingest, integration):
    _, key = integration()
    assert ingest.post("/v2/enqueue", json=trigger(key, "k0")).status_code == 202
    wrong = trigger("0" * 32)
    codes = [ingest.post("/v2/enqueue", json=wrong).status_code for _ in range(40)]
    assert codes[-1] == 429
    assert ingest.post("/v2/enqueue", json=trigger(key, "k1")).status_code == 202


def test_alerts_no_rule_routes_still_dedup_and_resolve_within_their_integration(ingest, integration):
    _, key = integration(on=None)
    for _ in range(3):
        assert ingest.post("/v2/enqueue", json=trigger(key, "lost")).status_code == 202
    alert = Alert.objects.get()
    assert (alert.service, alert.handling, alert.occurrences) == (None, Alert.UNROUTED, 3)
    ingest.post("/v2/enqueue", json={"routing_key": key, "event_action": "resolve", "dedup_key": "lost"})
    assert Alert.objects.get().status == Alert.RESOLVED
    ingest.post("/v2/enqueue", json=trigger(key, "lost"))
    assert Alert.objects.filter(status=Alert.TRIGGERED).count() == 1 and Alert.objects.count() == 2
