"""`tocsin integration create`: the key alone on stdout (so a script can capture it), the service
found by name, id or slug, and a clear message with exit status 2 for an unknown service or kind."""

import pytest
from django.core.management import call_command
from django.db import connections

from tocsin import cli
from tocsin.alerts.models import Integration, key_digest
from tocsin.core.models import AuditEntry


@pytest.fixture(autouse=True)
def _keep_test_connection(monkeypatch):
    """A command run from the command line closes every connection when done; in process, that
    would close the test's own (and its transaction) on PostgreSQL."""
    monkeypatch.setattr(connections, "close_all", lambda: None)


def run(capsys, *args):
    """The command through the `tocsin` front end, in process: (exit status, stdout, stderr)."""
    try:
        status = cli.main(["manage", "integration", *args])
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("how", ["name", "id", "slug"])
def test_create_prints_the_key_alone(capsys, service, how):
    wanted = {"name": service.name, "id": str(service.pk), "slug": service.slug}[how]
    status, out, err = run(capsys, "create", "--service", wanted, "--kind", "alertmanager", "--name", "Prometheus")
    assert status == 0, err
    key = out.strip()
    assert out == f"{key}\n" and len(key) == 32 and int(key, 16) >= 0
    integration = Integration.objects.get()
    assert (integration.service, integration.kind, integration.name) == (service, "alertmanager", "Prometheus")
    assert integration.key_hash == key_digest(key)
    entry = AuditEntry.objects.get(action="alerts.integration.create")
    assert entry.actor_label == "cli" and key not in str(entry.summary)


def test_the_name_defaults_to_the_kind(capsys, service):
    status, out, _ = run(capsys, "create", "--service", service.slug, "--kind", "heartbeat")
    assert status == 0 and Integration.objects.get().name == "Heartbeat"
    assert Integration.objects.get().heartbeat.interval_seconds > 0


def test_a_name_wins_over_an_id_that_looks_the_same(capsys, service, make_service):
    named_like_an_id = make_service(str(service.pk), "Numbers team")
    assert run(capsys, "create", "--service", str(service.pk), "--kind", "webhook")[0] == 0
    assert Integration.objects.get().service == named_like_an_id


@pytest.mark.parametrize("args, message", [
    (["--service", "nope", "--kind", "events-v2"], "no service is named, numbered or slugged 'nope'"),
    (["--service", "99999999999999999999999", "--kind", "events-v2"], "no service"),
    (["--service", "Payments", "--kind", "pager"], "kind: Unknown integration kind 'pager'"),
    (["--service", "Payments", "--kind", "webhook", "--name", "x" * 121], "name: At most 120 characters"),
])
def test_errors_exit_2_with_a_message_on_stderr(capsys, service, args, message):
    status, out, err = run(capsys, "create", *args)
    assert status == 2 and out == "" and message in err
    assert not Integration.objects.exists()


def test_missing_arguments_are_usage_errors(capsys, service):
    status, out, err = run(capsys, "create", "--kind", "webhook")
    assert status == 2 and "--service" in err and out == ""


def test_call_command_works_too(service, capsys):
    call_command("integration", "create", "--service", "Payments", "--kind", "email")
    assert key_digest(capsys.readouterr().out.strip()) == Integration.objects.get().key_hash
