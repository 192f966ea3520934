"""Run `tocsin` as a real subprocess on a file database, for tests that need the whole stack."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

TOCSIN = str(Path(sys.executable).with_name("tocsin"))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.update(
        TOCSIN_DATABASE_URL=f"sqlite:///{tmp_path / 'tocsin.db'}",
        TOCSIN_AUDIT_ANCHOR_FILE=str(tmp_path / "audit.anchors"),
    )
    env.update(extra)
    return env


def tocsin(env, *args, check=True):
    result = subprocess.run([TOCSIN, *args], env=env, capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"tocsin {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


class Served:
    """`tocsin serve` in the background; stops on exit and keeps what it logged."""

    def __init__(self, env, *args):
        self.env, self.args = env, args
        self.port = free_port()
        self.smtp_port = free_port()
        self.base = f"{'https' if '--tls-cert' in args else 'http'}://127.0.0.1:{self.port}"
        self.log_path = Path(env["TOCSIN_AUDIT_ANCHOR_FILE"]).with_name(f"serve-{self.port}.log")

    def __enter__(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [TOCSIN, "serve", "--port", str(self.port), "--smtp-port", str(self.smtp_port), *self.args],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"tocsin serve exited: {self.output()[-3000:]}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1, verify=False).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("tocsin serve did not become healthy within 60 s")

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()

    def output(self):
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text()
