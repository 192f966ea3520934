"""Real senders against a real `tocsin serve`: PagerDuty's own Python client on /v2/enqueue, and
the Prometheus Alertmanager binary on /integrations/<key>/alertmanager (E1, acceptance)."""

import ipaddress
import json
import os
import sqlite3
import ssl
import subprocess
import time
from datetime import datetime, timedelta, timezone

import httpx
import pagerduty
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.server import Served, environment, free_port, tocsin

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
WAIT_SECONDS = 60

CREATE_INTEGRATION = """
import json
from tocsin.alerts import services as alerts
from tocsin.catalog import services as catalog
from tocsin.core import audit, services as core
actor = audit.Actor.system("test")
team = core.create_team(actor=actor, name="Platform {kind}")
service = catalog.create_service(actor=actor, source="cli", name="Payments {kind}", kind="technical", owner_team=team,
                                 tier=2)
_, key = alerts.create_integration(service, {kind!r}, actor=actor)
print(json.dumps({{"key": key}}))
"""


def create_integration(env, kind):
    """A service with one integration of `kind`, made in the served database; returns the key."""
    output = tocsin(env, "manage", "shell", "-c", CREATE_INTEGRATION.format(kind=kind)).stdout
    return json.loads(output.strip().splitlines()[-1])["key"]


def rows(env, sql, *params):
    """Read the served database directly (read-only), as an outside observer would."""
    path = env["TOCSIN_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
        return db.execute(sql, params).fetchall()


def wait_for(what, check):
    """Poll `check` until it gives something true; bounded, so a lost alert fails the test."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {WAIT_SECONDS} s")
        time.sleep(0.2)


def alert_row(env, dedup_key, status):
    return rows(env, "SELECT a.summary, a.severity, a.incident_id, i.status FROM alerts_alert a"
                " LEFT JOIN incidents_incident i ON i.id = a.incident_id WHERE a.dedup_key = ? AND a.status = ?",
                dedup_key, status)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One served Tocsin for the module (starting it is the slow part); each test makes its own
    service and integration in it."""
    env = environment(tmp_path_factory.mktemp("served"))
    with Served(env) as server:
        yield env, server


def self_signed_certificate(directory):
    """A certificate for 127.0.0.1 that is its own authority; returns (certificate file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "tls.crt", directory / "tls.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture(scope="module")
def served_tls(served, tmp_path_factory):
    """The same database served over HTTPS by `tocsin serve --tls-cert --tls-key`: the PagerDuty
    client refuses any base URL that is not https://."""
    env, _ = served
    cert_file, key_file = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    with Served(env, "--no-engine", "--no-migrate", "--tls-cert", str(cert_file), "--tls-key", str(key_file)) as server:
        yield server, cert_file


@pytest.fixture
def pagerduty_client(served_tls):
    """make(key) -> the official client, pointed at Tocsin's HTTPS address and trusting its certificate."""
    server, cert_file = served_tls
    trust = ssl.create_default_context(cafile=str(cert_file))
    clients = []

    def make(key):
        clients.append(pagerduty.EventsApiV2Client(key, base_url=server.base, verify=trust))
        return clients[-1]
    yield make
    for client in clients:
        client.close()


def test_the_pagerduty_client_triggers_acknowledges_and_resolves(served, pagerduty_client):
    env, server = served
    key = create_integration(env, "events-v2")
    client = pagerduty_client(key)

    dedup_key = client.trigger("Checkout latency above 2 s", "web-3", severity="critical",
                               custom_details={"p99_ms": 2300})
    assert len(dedup_key) == 32
    summary, severity, _, _ = alert_row(env, dedup_key, "triggered")[0]
    assert (summary, severity) == ("Checkout latency above 2 s", "critical")
    wait_for("an incident for the trigger", lambda: alert_row(env, dedup_key, "triggered")[0][3] == "triggered")

    assert client.acknowledge(dedup_key) == dedup_key
    wait_for("the incident acknowledged",
             lambda: [row for row in alert_row(env, dedup_key, "acknowledged") if row[3] == "acknowledged"])

    assert client.resolve(dedup_key) == dedup_key
    wait_for("the incident resolved",
             lambda: [row for row in alert_row(env, dedup_key, "resolved") if row[3] == "resolved"])
    assert rows(env, "SELECT count(*) FROM alerts_alert WHERE dedup_key = ?", dedup_key)[0][0] == 1


def test_the_pagerduty_client_sees_tocsins_refusals(pagerduty_client):
    client = pagerduty_client("0" * 32)
    with pytest.raises(pagerduty.HttpError) as refused:
        client.trigger("Nobody home", "web-3")
    assert refused.value.response.status_code == 400
    assert refused.value.response.json()["errors"] == ["Invalid routing key"]


ALERTMANAGER_CONFIG = """
route:
  receiver: tocsin
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: tocsin
    webhook_configs:
      - url: {url}
        send_resolved: true
"""


@pytest.fixture
def alertmanager(tmp_path):
    """Start the real Alertmanager with a webhook receiver; yields (start(url) -> base address)."""
    started = []

    def start(webhook_url):
        port = free_port()
        config = tmp_path / "alertmanager.yml"
        config.write_text(ALERTMANAGER_CONFIG.format(url=webhook_url))
        log = open(tmp_path / "alertmanager.log", "w")
        proc = subprocess.Popen(
            [ALERTMANAGER, f"--config.file={config}", f"--storage.path={tmp_path / 'alertmanager-data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
            stdout=log, stderr=subprocess.STDOUT)
        started.append((proc, log))
        base = f"http://127.0.0.1:{port}"

        def ready():
            if proc.poll() is not None:
                raise AssertionError(f"alertmanager exited: {(tmp_path / 'alertmanager.log').read_text()[-3000:]}")
            try:
                return httpx.get(f"{base}/-/ready", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False
        wait_for("alertmanager ready", ready)
        return base

    yield start
    for proc, log in started:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.mark.skipif(not os.path.exists(ALERTMANAGER) and not os.environ.get("CI"),
                    reason=f"{ALERTMANAGER} is not installed (apt-get install prometheus-alertmanager)")
def test_the_alertmanager_binary_fires_and_resolves_through_its_webhook(served, alertmanager):
    env, server = served
    key = create_integration(env, "alertmanager")
    base = alertmanager(f"{server.base}/integrations/{key}/alertmanager")
    alert = {"labels": {"alertname": "ReplicationLag", "instance": "db-9:9187", "job": "postgres",
                        "severity": "warning"},
             "annotations": {"summary": "Replica db-9 is 45 s behind", "runbook_url": "https://runbooks.example/lag"},
             "generatorURL": "http://prometheus.example:9090/graph?g0.expr=pg_replication_lag"}
    assert httpx.post(f"{base}/api/v2/alerts", json=[alert], timeout=10).status_code == 200
    fingerprint = httpx.get(f"{base}/api/v2/alerts", timeout=10).json()[0]["fingerprint"]

    def stored():
        return rows(env, "SELECT summary, severity, source, group_key, labels, links FROM alerts_alert"
                    " WHERE dedup_key = ? AND status = 'triggered'", fingerprint)
    summary, severity, source, group_key, labels, links = wait_for("the alert in Tocsin", stored)[0]
    assert (summary, severity, source) == ("Replica db-9 is 45 s behind", "warning", "db-9:9187")
    assert group_key == '{}:{alertname="ReplicationLag"}'
    assert json.loads(labels) == alert["labels"]
    assert [link["text"] for link in json.loads(links)] == ["Source", "Runbook"]
    wait_for("an incident for the alert", lambda: alert_row(env, fingerprint, "triggered")[0][2])

    # Ending the alert in Alertmanager sends a resolved notification, which resolves it in Tocsin.
    ended = (datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat()
    assert httpx.post(f"{base}/api/v2/alerts", json=[{**alert, "endsAt": ended}], timeout=10).status_code == 200
    wait_for("the alert resolved in Tocsin",
             lambda: [row for row in alert_row(env, fingerprint, "resolved") if row[3] == "resolved"])
    assert rows(env, "SELECT count(*) FROM alerts_alert WHERE dedup_key = ?", fingerprint)[0][0] == 1
    assert "ingestion failed" not in server.output()


def test_serve_wants_both_halves_of_tls(tmp_path):
    env = environment(tmp_path)
    result = tocsin(env, "serve", "--tls-cert", str(tmp_path / "tls.crt"), check=False)
    assert result.returncode == 2 and "both --tls-cert and --tls-key" in result.stderr
