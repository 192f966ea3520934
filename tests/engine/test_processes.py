"""The engine as real processes: one engine per SQLite database, a worker woken across processes by
LISTEN/NOTIFY, `tocsin serve` with and without its engine, and a clean SIGTERM."""

import shutil
import signal
import sqlite3
import subprocess
import time

import httpx
import pytest

from tests.support.server import free_port

from . import pgcluster, processes

MAX_SLEEP_SECONDS = 30  # the worker's longest sleep when nothing is due (engine.worker)

SCHEDULE_PROBES = """
import json
from datetime import timedelta
from django.utils import timezone
from tocsin.engine import queue
queue.schedule_many(("engine.probe", timezone.now(), {{"n": i}}, None) for i in range({count}))
print(json.dumps({count}))
"""

# Periodic jobs are first due when an engine starts; queue them an hour ahead so that a fresh worker
# has nothing to do and sleeps its longest.
PERIODIC_LATER = """
import json
from datetime import timedelta
from django.utils import timezone
from tocsin.engine import runner
runner.ensure_periodic(timezone.now() + timedelta(hours=1))
print(json.dumps("ok"))
"""


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory):
    """A migrated SQLite file, copied for each test (migrating takes a while)."""
    folder = tmp_path_factory.mktemp("engine-sqlite")
    env = processes.environment(f"sqlite:///{folder / 'tocsin.db'}", folder)
    processes.tocsin(env, "migrate")
    with sqlite3.connect(folder / "tocsin.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return folder / "tocsin.db"


@pytest.fixture
def sqlite_env(migrated_sqlite, tmp_path):
    shutil.copy(migrated_sqlite, tmp_path / "tocsin.db")
    return processes.environment(f"sqlite:///{tmp_path / 'tocsin.db'}", tmp_path)


def sqlite_rows(env, sql):
    path = env["TOCSIN_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path, timeout=20) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture(scope="module")
def cluster():
    pgcluster.skip_or_fail()
    with pgcluster.Cluster() as running:
        url = running.create_database("tocsin_engine_template")
        processes.tocsin(processes.environment(url, running.root), "migrate")
        yield running


@pytest.fixture
def postgres_env(cluster, tmp_path, request):
    name = f"tocsin_engine_{request.node.name.split('[')[0][-40:]}".lower()
    with cluster.connect(autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE tocsin_engine_template')
    return processes.environment(cluster.url(name), tmp_path)


def postgres_rows(cluster, env, sql):
    with cluster.connect(env["TOCSIN_DATABASE_URL"].rsplit("/", 1)[1]) as conn:
        return conn.execute(sql).fetchall()


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"gave up after {timeout} s waiting for {what}")


def test_a_second_sqlite_worker_refuses_while_the_first_runs(sqlite_env, tmp_path):
    first = processes.worker(sqlite_env, tmp_path, "first")
    try:
        first.wait_for_output("engine started")  # logged once the lock is held
        second = subprocess.run([processes.TOCSIN, "worker", "--name", "second"], env=sqlite_env,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 2, second.stderr
        assert "is running" not in second.stdout
        assert "Another Tocsin engine is running on this SQLite database" in second.stderr
        assert "use PostgreSQL to run several workers" in second.stderr
        assert first.running()
    finally:
        assert first.stop() == 0


def test_a_postgres_worker_is_woken_by_a_job_scheduled_in_another_process(cluster, postgres_env, tmp_path):
    processes.django(postgres_env, PERIODIC_LATER)
    worker = processes.worker(postgres_env, tmp_path, "idle")
    try:
        worker.wait_for_output("is running")
        # Listening, and idle: it has nothing due for an hour, so it sleeps its longest.
        wait_until(lambda: postgres_rows(cluster, postgres_env,
                                         "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
                                         "AND query LIKE 'LISTEN tocsin_engine%'"),
                   30, "the worker's LISTEN")
        time.sleep(1)
        idle_since = time.monotonic()
        processes.django(postgres_env, SCHEDULE_PROBES.format(count=1))
        wait_until(lambda: postgres_rows(cluster, postgres_env,
                                         "SELECT 1 FROM engine_job WHERE kind = 'engine.probe' AND state = 'done'"),
                   10, "the probe job to run")
        # Done well before the worker would have woken up by itself.
        assert time.monotonic() - idle_since < MAX_SLEEP_SECONDS
    finally:
        assert worker.stop() == 0


def test_a_sqlite_engine_is_rung_by_a_job_scheduled_in_another_process(sqlite_env, tmp_path):
    processes.django(sqlite_env, PERIODIC_LATER)
    worker = processes.worker(sqlite_env, tmp_path, "idle")
    try:
        worker.wait_for_output("engine started")
        time.sleep(1)  # idle: nothing is due for an hour, so it sleeps its longest
        idle_since = time.monotonic()
        processes.django(sqlite_env, SCHEDULE_PROBES.format(count=1))
        wait_until(lambda: sqlite_rows(sqlite_env, "SELECT 1 FROM engine_job WHERE kind = 'engine.probe' AND state = 'done'"),
                   10, "the probe job to run")
        assert time.monotonic() - idle_since < MAX_SLEEP_SECONDS  # rung, not found by its own next look
    finally:
        assert worker.stop() == 0


class Served(processes.Process):
    """`tocsin serve` on a port of our own, up when /healthz answers."""

    def __init__(self, env, workdir, *options):
        self.port = free_port()
        super().__init__(env, [processes.TOCSIN, "serve", "--port", str(self.port), "--no-smtp", *options], workdir,
                         f"serve-{self.port}")

    def start(self):
        super().start()
        wait_until(self._healthy, 90, f"tocsin serve to answer:\n{self.output()[-2000:]}")
        return self

    def _healthy(self):
        if not self.running():
            raise AssertionError(f"tocsin serve exited:\n{self.output()[-3000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


def test_serve_no_engine_leaves_jobs_pending_and_serve_runs_them(sqlite_env, tmp_path):
    processes.django(sqlite_env, SCHEDULE_PROBES.format(count=3))
    probes = "SELECT state, count(*) FROM engine_job WHERE kind = 'engine.probe' GROUP BY state"

    web_only = Served(sqlite_env, tmp_path, "--no-engine").start()
    try:
        time.sleep(3)  # an engine would have run them long since; there must be none
        assert sqlite_rows(sqlite_env, probes) == [("pending", 3)]
        assert "engine started" not in web_only.output()
    finally:
        assert web_only.stop() == 0

    with_engine = Served(sqlite_env, tmp_path).start()
    try:
        wait_until(lambda: sqlite_rows(sqlite_env, probes) == [("done", 3)], 30, "serve's engine to run the probes")
    finally:
        with_engine.stop()


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_sigterm_stops_a_busy_worker_cleanly_and_releases_its_claims(database, request, tmp_path):
    if database == "sqlite":
        env = request.getfixturevalue("sqlite_env")
        rows = lambda sql: sqlite_rows(env, sql)  # noqa: E731
    else:
        cluster = request.getfixturevalue("cluster")
        env = request.getfixturevalue("postgres_env")
        rows = lambda sql: postgres_rows(cluster, env, sql)  # noqa: E731
    count = 20_000
    processes.django(env, SCHEDULE_PROBES.format(count=count))
    done = "SELECT count(*) FROM engine_job WHERE kind = 'engine.probe' AND state = 'done'"
    worker = processes.worker(env, tmp_path, "busy", "--batch", "50")
    try:
        wait_until(lambda: rows(done)[0][0] > 0, 60, "the worker to start on the probes")
    finally:
        worker.signal(signal.SIGTERM)
        code = worker.wait(timeout=60)
    assert code == 0, worker.output()[-3000:]
    assert "engine stopped" in worker.output()
    pending = rows("SELECT count(*) FROM engine_job WHERE kind = 'engine.probe' AND state = 'pending'")[0][0]
    assert 0 < pending < count, "stopped while busy: some probes ran, some are left"
    claimed = rows("SELECT id, claimed_by, claimed_until, attempts FROM engine_job "
                   "WHERE state = 'pending' AND (claimed_by <> '' OR claimed_until IS NOT NULL)")
    assert claimed == []
    uncounted = rows("SELECT count(*) FROM engine_job WHERE kind = 'engine.probe' AND state = 'pending' "
                     "AND attempts <> 0")[0][0]
    assert uncounted == 0  # released claims do not count as attempts


@pytest.mark.parametrize("option, value, message", [
    ("--lease-seconds", "0", "must be more than 0 and at most 3600"),
    ("--lease-seconds", "soon", "'soon' is not a number"),
    ("--batch", "0", "must be between 1 and 10000"),
])
def test_worker_options_are_checked(tmp_path, option, value, message):
    env = processes.environment(f"sqlite:///{tmp_path / 'tocsin.db'}", tmp_path)
    result = subprocess.run([processes.TOCSIN, "worker", option, value], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert f"argument {option}: {message}" in result.stderr
