"""The `tocsin` command: help everywhere, admin creation, demo, and a served anchor."""

import json

import httpx
import pytest

from tests.support.server import Served, environment, tocsin

from tocsin import cli

COMMANDS = sorted(name for name, target in cli.COMMANDS.items() if target)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    # In process: the subprocess tests below already prove the console script itself.
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: tocsin {command}") or (command == "migrate" and "usage:" in out)


def test_top_level_help_and_unknown_command(tmp_path):
    env = environment(tmp_path)
    assert "rotate-keys" in tocsin(env, "--help").stdout
    result = tocsin(env, "frobnicate", check=False)
    assert result.returncode == 2 and "unknown command" in result.stderr


def test_createadmin_demo_token_and_verify(tmp_path):
    env = environment(tmp_path)
    tocsin(env, "migrate")
    made = tocsin(env, "createadmin", "--username", "root", "--email", "root@example.org", "--password", "a-long-password-42")
    assert "root created" in made.stdout
    weak = tocsin(env, "createadmin", "--username", "weak", "--password", "123", check=False)
    assert weak.returncode != 0 and "password" in weak.stderr
    demo = tocsin(env, "demo", "--password", "demo-password-123")
    assert "Sign in at http://127.0.0.1:8000/login/ as admin with password demo-password-123" in demo.stdout
    token = tocsin(env, "token", "create", "--user", "root", "--name", "x", "--expires", "3").stdout.split()[-1]
    assert token.startswith("tcs_")
    assert "intact" in tocsin(env, "audit", "verify").stdout
    exported = json.loads(tocsin(env, "audit", "export", "--format", "json").stdout)
    assert any(row["action"] == "token.created" for row in exported)


def test_keygen_prints_a_usable_key(tmp_path):
    from cryptography.fernet import Fernet

    key = tocsin(environment(tmp_path), "keygen").stdout.strip()
    Fernet(key.encode())


def test_serve_migrates_serves_and_anchors_on_stop(tmp_path):
    env = environment(tmp_path)
    tocsin(env, "demo", "--password", "demo-password-123")
    with Served(env) as server:
        assert httpx.get(f"{server.base}/readyz").json()["status"] == "ready"
        assert httpx.get(f"{server.base}/login/").status_code == 200
        metrics = httpx.get(f"{server.base}/metrics").text
        assert "tocsin_audit_chain_head_info" in metrics
    anchors = [json.loads(line) for line in (tmp_path / "audit.anchors").read_text().splitlines()]
    assert anchors and anchors[-1]["seq"] > 0
    assert "audit chain anchor" in server.output()


def test_the_server_stops_when_the_supervisor_is_killed(tmp_path):
    import os
    import signal
    import time

    env = environment(tmp_path)
    tocsin(env, "migrate")
    with Served(env) as server:
        os.kill(server.proc.pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{server.base}/healthz", timeout=0.5)
            except httpx.HTTPError:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the HTTP server outlived its killed supervisor")
