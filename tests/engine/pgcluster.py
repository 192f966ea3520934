"""A private PostgreSQL server for tests that restart it or run engines against it, so the shared
server the rest of the suite uses is never disturbed. Debian's binaries, run as `postgres`."""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from tests.support.server import free_port

IN_CI = os.environ.get("CI", "").lower() == "true"


def binaries():
    """The newest /usr/lib/postgresql/<version>/bin that has initdb, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def missing_reason():
    """Why a private server cannot run here (None when it can)."""
    if binaries() is None:
        return "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser, so initdb cannot run as the postgres user"
    return None


def skip_or_fail():
    """Skip loudly where binaries are absent; under CI=true they are required."""
    import pytest

    reason = missing_reason()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true requires a private PostgreSQL server: {reason}")
    line = "!" * 78
    sys.stderr.write(f"\n{line}\n!! SKIPPING private-PostgreSQL tests: {reason}\n{line}\n")
    pytest.skip(reason)


class Cluster:
    """initdb, start, restart and remove a throwaway server listening on 127.0.0.1:`port`, with its
    unix socket in its own directory. Trust authentication: it only ever holds test data."""

    def __init__(self, port=None, root=None):
        self.bin = binaries()
        self.root = Path(root or tempfile.mkdtemp(prefix="tocsin-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = port or free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *args, timeout=60):
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr[-2000:]}\n{self.tail()}")
        return result

    def tail(self, chars=2000):
        try:
            return self.log.read_text()[-chars:]
        except OSError:
            return ""

    def start(self):
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync",
                  "--locale=C.UTF-8")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=100 "
                   "-c fsync=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        return self

    def restart(self):
        """A fast restart: every session is cut off, then the server comes back on the same port."""
        # -l again: pg_ctl does not remember the log file, and the server would hold our pipe open.
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "-t", "60", "restart")

    def stop(self):
        if self.data.exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
            except RuntimeError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname):
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname="postgres", **kwargs):
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, connect_timeout=5,
                               **kwargs)

    def create_database(self, name):
        with self.connect(autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def wait_ready(self, dbname="postgres", timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.connect(dbname).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()
