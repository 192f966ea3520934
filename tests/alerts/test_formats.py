"""Alertmanager, Grafana and generic JSON webhooks, end to end through the fast path (E1, E2)."""

import copy

import pytest

from tocsin.alerts.formats.alertmanager import labels_key
from tocsin.alerts.models import Alert
from tocsin.incidents.models import Incident

# Shaped as Alertmanager's webhook_config documentation describes version 4.
ALERTMANAGER = {
    "version": "4",
    "groupKey": '{}/{severity=~"critical|warning"}:{alertname="NodeFilesystemAlmostFull"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "tocsin",
    "groupLabels": {"alertname": "NodeFilesystemAlmostFull"},
    "commonLabels": {"alertname": "NodeFilesystemAlmostFull", "job": "node", "team": "storage"},
    "commonAnnotations": {"runbook_url": "https://runbooks.example/disk"},
    "externalURL": "http://alertmanager.example:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "NodeFilesystemAlmostFull", "instance": "db-1:9100", "job": "node",
                       "mountpoint": "/var", "severity": "critical", "team": "storage"},
            "annotations": {"summary": "Filesystem /var on db-1 is 97% full",
                            "description": "Only 3% space left on /var.",
                            "runbook_url": "https://runbooks.example/disk"},
            "startsAt": "2026-11-24T02:10:03.512345678Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example:9090/graph?g0.expr=node_filesystem_avail_bytes",
            "fingerprint": "5ac0d3a1c2e7f9b4",
        },
        {
            "status": "firing",
            "labels": {"alertname": "NodeFilesystemAlmostFull", "instance": "db-2:9100", "job": "node",
                       "mountpoint": "/var", "severity": "warning", "team": "storage"},
            "annotations": {"description": "Only 9% space left on /var."},
            "startsAt": "2026-11-24T02:11:33.1Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example:9090/graph?g0.expr=node_filesystem_avail_bytes",
            "fingerprint": "0f94d5b3a8c61e27",
        },
    ],
}

# Grafana's webhook notifier documentation example, as published.
GRAFANA = {
    "receiver": "My Super Webhook",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
            "annotations": {"description": "The system has high memory usage",
                            "runbook_url": "https://myrunbook.com/runbook/1234",
                            "summary": "This alert was triggered for zone us-1"},
            "startsAt": "2021-10-12T09:51:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers="
                          "alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 44.23943737541908, "C": 1},
        },
        {
            "status": "firing",
            "labels": {"alertname": "High CPU usage", "team": "blue", "zone": "eu-1"},
            "annotations": {"description": "The system has high CPU usage",
                            "runbook_url": "https://myrunbook.com/runbook/1234",
                            "summary": "This alert was triggered for zone eu-1"},
            "startsAt": "2021-10-12T09:56:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://play.grafana.org/alerting/d1rdpdv7k/edit",
            "fingerprint": "bc97ff14869b13e3",
            "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers="
                          "alertname%3DT1%2Cteam%3Dblue%2Czone%3Deu-1",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 44.23943737541908, "C": 1},
        },
    ],
    "groupLabels": {},
    "commonLabels": {"team": "blue"},
    "commonAnnotations": {},
    "externalURL": "https://play.grafana.org/",
    "version": "1",
    "groupKey": "{}:{}",
    "truncatedAlerts": 0,
    "title": "[FIRING:2]  (blue)",
    "state": "alerting",
    "message": "**Firing**\n\nLabels:\n - alertname = T2\n - team = blue\n - zone = us-1\n",
}


def resolved(payload, *indexes):
    body = copy.deepcopy(payload)
    body["status"] = "resolved"
    body["alerts"] = [body["alerts"][i] for i in indexes]
    for alert in body["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2026-11-24T02:30:03Z"
    return body


def changed(payload, path, value):
    """A copy of `payload` with the value at `path` (keys and list indexes) replaced, or removed
    when `value` is ...."""
    body = copy.deepcopy(payload)
    *parents, last = path
    target = body
    for step in parents:
        target = target[step]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return body


# -- Alertmanager ----------------------------------------------------------------------------

def test_each_alertmanager_alert_becomes_an_alert_keyed_by_its_fingerprint(ingest, integration, processed):
    _, key = integration("alertmanager")
    response = ingest.post(f"/integrations/{key}/alertmanager", json=ALERTMANAGER)
    assert response.status_code == 202
    assert response.json()["dedup_keys"] == ["5ac0d3a1c2e7f9b4", "0f94d5b3a8c61e27"]
    first, second = Alert.objects.get(dedup_key="5ac0d3a1c2e7f9b4"), Alert.objects.get(dedup_key="0f94d5b3a8c61e27")
    assert (first.status, first.severity, first.summary, first.source) == (
        "triggered", "critical", "Filesystem /var on db-1 is 97% full", "db-1:9100")
    assert first.labels == ALERTMANAGER["alerts"][0]["labels"]
    assert first.details["description"] == "Only 3% space left on /var."
    assert first.details["startsAt"] == "2026-11-24T02:10:03.512345678Z"
    assert first.details["commonLabels"] == ALERTMANAGER["commonLabels"]
    assert first.group_key == ALERTMANAGER["groupKey"] and first.alert_class == "NodeFilesystemAlmostFull"
    assert [link["text"] for link in first.links] == ["Source", "Runbook"]
    assert first.links[0]["href"] == ALERTMANAGER["alerts"][0]["generatorURL"]
    assert first.raw["fingerprint"] == "5ac0d3a1c2e7f9b4"
    # No summary annotation: the description speaks for it.
    assert (second.summary, second.severity) == ("Only 9% space left on /var.", "warning")
    processed()
    assert Incident.objects.filter(status=Incident.TRIGGERED).count() == 2
    assert set(Incident.objects.values_list("urgency", flat=True)) == {"high", "low"}


def test_a_repeated_notification_counts_occurrences_and_pages_no_one_again(ingest, integration, processed):
    _, key = integration("alertmanager")
    ingest.post(f"/integrations/{key}/alertmanager", json=ALERTMANAGER)
    processed()
    assert ingest.post(f"/integrations/{key}/alertmanager", json=ALERTMANAGER).status_code == 202
    processed()
    assert Alert.objects.count() == 2
    assert set(Alert.objects.values_list("occurrences", flat=True)) == {2}
    assert Incident.objects.count() == 2


def test_a_resolved_notification_resolves_only_its_alerts_and_their_incident(ingest, integration, processed):
    _, key = integration("alertmanager")
    ingest.post(f"/integrations/{key}/alertmanager", json=ALERTMANAGER)
    processed()
    response = ingest.post(f"/integrations/{key}/alertmanager", json=resolved(ALERTMANAGER, 0))
    assert response.status_code == 202 and response.json()["dedup_keys"] == ["5ac0d3a1c2e7f9b4"]
    processed()
    assert Alert.objects.get(dedup_key="5ac0d3a1c2e7f9b4").status == Alert.RESOLVED
    assert Alert.objects.get(dedup_key="0f94d5b3a8c61e27").status == Alert.TRIGGERED
    statuses = dict(Alert.objects.values_list("dedup_key", "incident__status"))
    assert statuses == {"5ac0d3a1c2e7f9b4": Incident.RESOLVED, "0f94d5b3a8c61e27": Incident.TRIGGERED}


def test_firing_again_after_resolve_opens_a_new_alert(ingest, integration):
    _, key = integration("alertmanager")
    ingest.post(f"/integrations/{key}/alertmanager", json=ALERTMANAGER)
    ingest.post(f"/integrations/{key}/alertmanager", json=resolved(ALERTMANAGER, 0))
    ingest.post(f"/integrations/{key}/alertmanager", json=ALERTMANAGER)
    assert sorted(Alert.objects.filter(dedup_key="5ac0d3a1c2e7f9b4").values_list("status", flat=True)) == [
        "resolved", "triggered"]


def test_without_a_fingerprint_the_sorted_labels_are_the_key(ingest, integration):
    _, key = integration("alertmanager")
    body = copy.deepcopy(ALERTMANAGER)
    for alert in body["alerts"]:
        del alert["fingerprint"]
    assert ingest.post(f"/integrations/{key}/alertmanager", json=body).status_code == 202
    # The same labels in another order, now resolved: the same alert.
    later = resolved(body, 0)
    later["alerts"][0]["labels"] = dict(reversed(list(later["alerts"][0]["labels"].items())))
    dedup_keys = ingest.post(f"/integrations/{key}/alertmanager", json=later).json()["dedup_keys"]
    assert dedup_keys == [labels_key(ALERTMANAGER["alerts"][0]["labels"])]
    assert sorted(Alert.objects.values_list("status", flat=True)) == ["resolved", "triggered"]


def test_the_summary_falls_back_to_the_alert_name_and_its_identifying_labels(ingest, integration):
    _, key = integration("alertmanager")
    body = changed(ALERTMANAGER, ("alerts", 1, "annotations"), {})
    ingest.post(f"/integrations/{key}/alertmanager", json=body)
    assert Alert.objects.get(dedup_key="0f94d5b3a8c61e27").summary == (
        "NodeFilesystemAlmostFull (instance=db-2:9100, job=node)")


@pytest.mark.parametrize("label, options, severity", [
    ("CRITICAL", {}, "critical"),
    ("warn", {}, "warning"),
    ("page", {}, "critical"),
    ("p4", {}, "info"),
    ("whatever", {}, "error"),
    ("whatever", {"default_severity": "warning"}, "warning"),
    (..., {"default_severity": "info"}, "info"),
])
def test_severity_comes_from_the_severity_label(ingest, integration, label, options, severity):
    _, key = integration("alertmanager", **options)
    body = changed(ALERTMANAGER, ("alerts", 0, "labels", "severity"), label)
    ingest.post(f"/integrations/{key}/alertmanager", json=body)
    assert Alert.objects.get(dedup_key="5ac0d3a1c2e7f9b4").severity == severity


def test_the_source_falls_back_to_the_job_then_the_alertmanager_address(ingest, integration):
    _, key = integration("alertmanager")
    body = changed(ALERTMANAGER, ("alerts", 0, "labels", "instance"), ...)
    body = changed(body, ("alerts", 1, "labels"), {"alertname": "Watchdog"})
    ingest.post(f"/integrations/{key}/alertmanager", json=body)
    sources = dict(Alert.objects.values_list("dedup_key", "source"))
    assert sources == {"5ac0d3a1c2e7f9b4": "node", "0f94d5b3a8c61e27": "http://alertmanager.example:9093"}


def test_a_long_group_key_is_hashed_rather_than_cut(ingest, integration):
    _, key = integration("alertmanager")
    long_key = "{}:{" + ",".join(f'label{n}="value{n}"' for n in range(40)) + "}"
    ingest.post(f"/integrations/{key}/alertmanager", json=changed(ALERTMANAGER, ("groupKey",), long_key))
    group_key = Alert.objects.values_list("group_key", flat=True).first()
    assert group_key.startswith("sha256:") and len(group_key) <= 255


def test_only_web_addresses_become_links(ingest, integration):
    _, key = integration("alertmanager")
    body = changed(ALERTMANAGER, ("alerts", 0, "generatorURL"), "javascript:alert(1)")
    ingest.post(f"/integrations/{key}/alertmanager", json=body)
    assert [link["text"] for link in Alert.objects.get(dedup_key="5ac0d3a1c2e7f9b4").links] == ["Runbook"]


@pytest.mark.parametrize("path, value, error", [
    (("alerts", 1, "labels"), ["severity", "critical"], "'alerts[1].labels' must be an object"),
    (("alerts", 1, "labels"), ..., "'alerts[1].labels' must be an object (it is required)"),
    (("alerts", 0, "labels", "severity"), 2, "'alerts[0].labels.severity' must be a string"),
    (("alerts", 1, "annotations"), "disk full", "'alerts[1].annotations' must be an object"),
    (("alerts", 0, "status"), "pending", "'alerts[0].status' must be 'firing' or 'resolved'"),
    (("alerts", 1, "startsAt"), "yesterday", "'alerts[1].startsAt' must be an RFC 3339 date-time"),
    (("alerts", 0, "fingerprint"), 12345, "'alerts[0].fingerprint' must be a string"),
    (("alerts", 1), "an alert", "'alerts[1]' must be an object"),
    (("alerts",), ..., "'alerts' must be an array (it is required)"),
    (("alerts",), {}, "'alerts' must be an array"),
    (("alerts",), [], "'alerts' holds no alerts"),
    (("version",), "3", "'version' must be \"4\""),
    (("status",), "burning", "'status' must be 'firing' or 'resolved'"),
    (("commonLabels",), "team=storage", "'commonLabels' must be an object"),
    (("groupKey",), 7, "'groupKey' must be a string"),
    (("truncatedAlerts",), "none", "'truncatedAlerts' must be a whole number"),
])
def test_bad_alertmanager_shapes_are_refused_naming_the_field_and_store_nothing(
        ingest, integration, path, value, error):
    _, key = integration("alertmanager")
    response = ingest.post(f"/integrations/{key}/alertmanager", json=changed(ALERTMANAGER, path, value))
    assert response.status_code == 400
    assert response.json()["status"] == "invalid event" and error in response.json()["errors"]
    assert not Alert.objects.exists()


def test_an_alert_with_nothing_to_name_it_is_refused(ingest, integration):
    _, key = integration("alertmanager")
    body = changed(ALERTMANAGER, ("alerts", 1), {"status": "firing", "labels": {}, "annotations": {}})
    response = ingest.post(f"/integrations/{key}/alertmanager", json=body)
    assert response.status_code == 400 and "'alerts[1].annotations.summary' is missing" in response.json()["errors"][0]
    assert not Alert.objects.exists()


def test_a_body_that_is_not_an_object_is_refused(ingest, integration):
    _, key = integration("alertmanager")
    response = ingest.post(f"/integrations/{key}/alertmanager", json=ALERTMANAGER["alerts"])
    assert response.status_code == 400 and "JSON object" in response.json()["errors"][0]


def test_a_format_is_served_only_to_its_own_kind_of_integration(ingest, integration):
    _, events_key = integration()
    _, grafana_key = integration("grafana")
    for key in (events_key, grafana_key):
        assert ingest.post(f"/integrations/{key}/alertmanager", json=ALERTMANAGER).status_code == 404
    assert ingest.post(f"/integrations/{'0' * 32}/alertmanager", json=ALERTMANAGER).status_code == 404
    assert not Alert.objects.exists()


# -- Grafana ---------------------------------------------------------------------------------

def test_grafana_alerts_keep_their_values_and_links(ingest, integration, processed):
    _, key = integration("grafana")
    response = ingest.post(f"/integrations/{key}/grafana", json=GRAFANA)
    assert response.status_code == 202 and response.json()["dedup_keys"] == ["c6eadffa33fcdf37", "bc97ff14869b13e3"]
    memory = Alert.objects.get(dedup_key="c6eadffa33fcdf37")
    assert (memory.summary, memory.severity, memory.alert_class) == (
        "This alert was triggered for zone us-1", "error", "High memory usage")
    assert memory.details["values"] == {"B": 44.23943737541908, "C": 1}
    assert memory.details["commonLabels"] == {"team": "blue"}
    assert memory.source == "https://play.grafana.org/" and memory.group_key == "{}:{}"
    # Empty dashboard and panel addresses give no link.
    assert [link["text"] for link in memory.links] == ["Source", "Runbook", "Silence"]
    processed()
    assert Incident.objects.count() == 2


def test_grafana_resolved_alerts_resolve(ingest, integration):
    _, key = integration("grafana")
    ingest.post(f"/integrations/{key}/grafana", json=GRAFANA)
    body = resolved(GRAFANA, 1)
    body["state"], body["title"] = "ok", "[RESOLVED]  (blue)"
    assert ingest.post(f"/integrations/{key}/grafana", json=body).status_code == 202
    assert dict(Alert.objects.values_list("dedup_key", "status")) == {
        "c6eadffa33fcdf37": "triggered", "bc97ff14869b13e3": "resolved"}


def test_grafana_value_strings_and_images_are_kept(ingest, integration):
    _, key = integration("grafana", default_severity="critical")
    body = changed(GRAFANA, ("alerts", 0, "values"), None)
    body["alerts"][0]["valueString"] = "[ var='B' labels={zone=us-1} value=44.2 ]"
    body["alerts"][0]["imageURL"] = "https://grafana.example/render/panel.png"
    body["alerts"][0]["dashboardURL"] = "https://play.grafana.org/d/abc"
    ingest.post(f"/integrations/{key}/grafana", json=body)
    memory = Alert.objects.get(dedup_key="c6eadffa33fcdf37")
    assert memory.details["valueString"].startswith("[ var='B'") and "values" not in memory.details
    assert memory.severity == "critical"
    assert {"href": "https://grafana.example/render/panel.png", "text": "Image", "image": True} in memory.links
    assert "Dashboard" in [link["text"] for link in memory.links]


@pytest.mark.parametrize("path, value, error", [
    (("alerts", 0, "values"), [44.2, 1], "'alerts[0].values' must be an object"),
    (("alerts", 1, "silenceURL"), False, "'alerts[1].silenceURL' must be a string"),
    (("alerts", 1, "labels"), None, "'alerts[1].labels' must be an object (it is required)"),
    (("orgId",), "1", "'orgId' must be a whole number"),
    (("title",), ["FIRING"], "'title' must be a string"),
    (("version",), 1, "'version' must be a string"),
])
def test_bad_grafana_shapes_are_refused_naming_the_field_and_store_nothing(ingest, integration, path, value, error):
    _, key = integration("grafana")
    response = ingest.post(f"/integrations/{key}/grafana", json=changed(GRAFANA, path, value))
    assert response.status_code == 400 and error in response.json()["errors"]
    assert not Alert.objects.exists()


# -- Generic JSON webhook --------------------------------------------------------------------

def test_an_unmapped_webhook_reads_fields_by_their_own_names(ingest, integration, processed):
    _, key = integration("webhook")
    body = {"summary": "Backup job failed", "source": "backup-1", "severity": "Critical", "dedup_key": "backup"}
    response = ingest.post(f"/integrations/{key}/webhook", json=body)
    assert response.status_code == 202 and response.json()["dedup_keys"] == ["backup"]
    alert = Alert.objects.get()
    assert (alert.summary, alert.source, alert.severity, alert.status) == (
        "Backup job failed", "backup-1", "critical", "triggered")
    assert alert.details == body
    processed()
    assert Incident.objects.get().title == "Backup job failed"


MAPPED = {
    "mapping": {
        "summary": "alert.title",
        "source": "alert.host-name",  # a dotted path: JMESPath would need alert."host-name"
        "severity": "alert.level",
        "status": "alert.state",
        "dedup_key": "join('/', [alert.\"host-name\", alert.check])",
        "component": "alert.tags[0]",
        "class": "alert.check",
        "labels": "{host: alert.\"host-name\", check: alert.check}",
        "details": "alert.info",
    },
    "severity_map": {"red": "critical", "amber": "warning"},
    "status_map": {"green": "resolve", "RED": "trigger"},
}


def mapped_alert(state="red", level="RED", title="Disk nearly full"):
    return {"alert": {"title": title, "host-name": "nas-2", "level": level, "state": state, "check": "disk",
                      "tags": ["storage", "nas"], "info": {"free": "2%"}}}


def test_mappings_read_jmespath_and_dotted_paths(ingest, integration):
    _, key = integration("webhook", **MAPPED)
    response = ingest.post(f"/integrations/{key}/webhook", json=mapped_alert())
    assert response.status_code == 202 and response.json()["dedup_keys"] == ["nas-2/disk"]
    alert = Alert.objects.get()
    assert (alert.summary, alert.source, alert.severity, alert.component, alert.alert_class) == (
        "Disk nearly full", "nas-2", "critical", "storage", "disk")
    assert alert.labels == {"host": "nas-2", "check": "disk"} and alert.details == {"free": "2%"}


def test_the_status_map_resolves_and_unknown_states_are_refused(ingest, integration):
    _, key = integration("webhook", **MAPPED)
    ingest.post(f"/integrations/{key}/webhook", json=mapped_alert())
    assert ingest.post(f"/integrations/{key}/webhook", json=mapped_alert(state="green")).status_code == 202
    assert Alert.objects.get().status == Alert.RESOLVED
    response = ingest.post(f"/integrations/{key}/webhook", json=mapped_alert(state="purple"))
    assert response.status_code == 400
    assert "'status' 'purple' is not a known status" in response.json()["errors"][0]
    assert Alert.objects.count() == 1


def test_without_a_dedup_key_the_summary_and_source_identify_the_alert(ingest, integration):
    _, key = integration("webhook", mapping={"summary": "title", "source": "host", "status": "state"})
    for state in ("alerting", "alerting", "ok"):
        assert ingest.post(f"/integrations/{key}/webhook",
                           json={"title": "Queue backlog", "host": "mq-1", "state": state}).status_code == 202
    alert = Alert.objects.get()
    assert (alert.occurrences, alert.status, len(alert.dedup_key)) == (2, "resolved", 32)


def test_an_events_expression_makes_one_alert_per_item(ingest, integration):
    _, key = integration("webhook", mapping={
        "events": "checks[?state != 'passing']", "summary": "name", "source": "node", "status": "state"})
    body = {"checks": [{"name": "ping", "node": "web-1", "state": "critical"},
                       {"name": "http", "node": "web-1", "state": "passing"},
                       {"name": "disk", "node": "web-2", "state": "critical"}]}
    assert len(ingest.post(f"/integrations/{key}/webhook", json=body).json()["dedup_keys"]) == 2
    assert sorted(Alert.objects.values_list("summary", flat=True)) == ["disk", "ping"]


def test_a_json_array_is_a_list_of_events(ingest, integration):
    _, key = integration("webhook")
    body = [{"summary": "first", "source": "a"}, {"summary": "second", "source": "b", "severity": "info"}]
    assert ingest.post(f"/integrations/{key}/webhook", json=body).status_code == 202
    assert dict(Alert.objects.values_list("summary", "severity")) == {"first": "error", "second": "info"}


@pytest.mark.parametrize("options, body, error", [
    ({}, {"source": "a"}, "'summary' is missing: its mapping (summary) found no text in the payload"),
    ({"mapping": {"summary": "alert.title"}}, {"alert": {"title": {"text": "x"}}}, "'summary' is missing"),
    ({}, [{"summary": "ok"}, {"summary": " "}], "events[1]: 'summary' is missing"),
    ({"mapping": {"summary": "join(', ', tags)"}}, {"tags": 5},
     "the mapping 'summary' (join(', ', tags)) failed on this payload"),
    ({"mapping": {"summary": "title", "events": "items"}}, {"items": {"title": "x"}},
     "the mapping 'events' (items) must select an array of events"),
    ({"mapping": {"summary": "title", "labels": "tags"}}, {"title": "x", "tags": ["a"]},
     "the mapping 'labels' (tags) must select an object"),
    ({}, [], "the payload holds no events"),
])
def test_bad_webhook_payloads_are_refused_naming_the_field_and_store_nothing(ingest, integration, options, body, error):
    _, key = integration("webhook", **options)
    response = ingest.post(f"/integrations/{key}/webhook", json=body)
    assert response.status_code == 400, response.text
    assert any(message.startswith(error) for message in response.json()["errors"]), response.json()
    assert not Alert.objects.exists()


def test_mapping_a_field_to_null_stops_it_being_read_under_its_own_name(ingest, integration):
    _, key = integration("webhook", mapping={"status": None})
    body = {"summary": "Order export stalled", "source": "erp", "status": "exporting"}
    assert ingest.post(f"/integrations/{key}/webhook", json=body).status_code == 202
    assert Alert.objects.get().status == Alert.TRIGGERED
