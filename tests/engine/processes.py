"""Real `tocsin` processes for engine tests: workers that can be killed, servers, and short Django
scripts run against a chosen database (the test process's own ORM points at the test database)."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

TOCSIN = str(Path(sys.executable).with_name("tocsin"))
PRELUDE = """\
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
import django
django.setup()
"""


def environment(url, workdir, **extra):
    """A clean environment for a child pointed at `url`: none of this process's TOCSIN_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.update(TOCSIN_DATABASE_URL=url, TOCSIN_AUDIT_ANCHOR_FILE=str(Path(workdir) / "audit.anchors"))
    env.update(extra)
    return env


def tocsin(env, *args, timeout=180):
    result = subprocess.run([TOCSIN, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"tocsin {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def script(code):
    return PRELUDE + textwrap.dedent(code)


def django(env, code, timeout=180):
    """Run `code` in a fresh Python with Django set up on env's database; its last stdout line is
    parsed as JSON and returned."""
    result = subprocess.run([sys.executable, "-c", script(code)], env=env, capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"script failed ({result.returncode}):\n{result.stderr[-3000:]}")
    lines = result.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


class Process:
    """A background child whose output goes to a log file in `workdir`."""

    def __init__(self, env, args, workdir, label):
        self.env, self.args, self.label = env, list(args), label
        self.log_path = Path(workdir) / f"{label}.log"
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in wait()
        self.proc = subprocess.Popen(self.args, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signum):
        if self.running():
            self.proc.send_signal(signum)

    def wait(self, timeout=30):
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if not self.log.closed:
                self.log.close()

    def stop(self, timeout=20):
        """SIGTERM, then SIGKILL if it does not leave in time; returns the exit code."""
        if self.proc is None:
            return None
        self.signal(signal.SIGTERM)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.wait(timeout)

    def output(self):
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text()

    def wait_for_output(self, text, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return True
            if not self.running():
                break
            time.sleep(0.1)
        raise AssertionError(f"{self.label} did not print {text!r}:\n{self.output()[-3000:]}")


def worker(env, workdir, name, *options):
    return Process(env, [TOCSIN, "worker", "--name", name, *options], workdir, name).start()


def python(env, workdir, label, code):
    return Process(env, [sys.executable, "-c", script(code)], workdir, label).start()
