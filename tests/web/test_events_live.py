"""The dashboard's event stream through the real server (`tocsin serve`, ASGI; the test server
cannot stream): a change made by another process reaches an open stream as `event: changed`,
and the fragment then shows it. On SQLite through polling; on Postgres through one shared LISTEN
connection per node, which also survives losing its connection."""

import json
import re
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import IN_CI
from tests.support.server import Served, environment, tocsin

POSTGRES = "postgres://postgres@127.0.0.1:5432"
LIVE_DB = "tocsin_live_events"
FEED = "tocsin dashboard feed"  # the application_name of the feed's LISTEN connection
PASSWORD = "watch-password-123"
WAIT_SECONDS = 120  # generous; no assertion is about time

SETUP = f"""
import json
from tocsin.core import audit, services
from tocsin.catalog import services as catalog
from tocsin.directory import services as directory
from tocsin.escalation import services as escalation
system = audit.Actor.system("test")
services.create_user(actor=system, username="watcher", password="{PASSWORD}", roles=["viewer"])
team = services.create_team(actor=system, name="Platform")
service = catalog.create_service(actor=system, source="cli", name="Payments", kind="technical", owner_team=team, tier=2)
ana = directory.create_person(actor=system, source="cli", name="Ana Silva")
policy = escalation.create_policy("Payments", {{"tiers": [{{"delay_minutes": 5, "targets": [{{"type": "person", "id": ana.pk}}]}}]}}, actor=system)
escalation.link_service(service, policy, actor=system)
"""

TRIGGER = """
import json
from tocsin.catalog.models import Service
from tocsin.core import audit
from tocsin.incidents import services as incidents
incident = incidents.trigger_incident(Service.objects.get(name="Payments"), "{title}", actor=audit.Actor.system("test"))
print(json.dumps({{"id": incident.pk, "number": incident.number}}))
"""


@pytest.fixture
def workdir():
    Path("/tmp/tocsin-live").mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="live-", dir="/tmp/tocsin-live"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _shell(env, code):
    return tocsin(env, "manage", "shell", "-c", code).stdout


def trigger(env, title):
    lines = [line for line in _shell(env, TRIGGER.format(title=title)).splitlines() if line.startswith("{")]
    return json.loads(lines[-1])


def signed_in(base):
    client = httpx.Client(base_url=base, timeout=httpx.Timeout(30, read=WAIT_SECONDS))
    page = client.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = client.post("/login/", data={"username": "watcher", "password": PASSWORD, "csrfmiddlewaretoken": token},
                           headers={"Referer": f"{base}/login/"})
    assert response.status_code == 302 and response.headers["location"] == "/", response.text[:500]
    return client


class EventReader:
    """The events of an open stream, one at a time: (event name or None for a comment, data)."""

    def __init__(self, response):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        self.lines = response.iter_lines()

    def next(self):
        name, data, comment = None, None, False
        for line in self.lines:
            if line == "":
                if name or data is not None or comment:
                    return name, data
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "":
                comment = True
            elif field == "event":
                name = value
            elif field == "data":
                data = json.loads(value)
        raise AssertionError("the event stream ended")

    def wait_for_change(self, incident_id):
        """Until a `changed` event names `incident_id` (or says everything changed)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            name, data = self.next()
            if name == "changed" and (data == {} or incident_id in data.get("incidents", [])):
                return data
        raise AssertionError(f"no change of incident {incident_id} within {WAIT_SECONDS} s")


def row(html, number):
    match = re.search(rf'<tr data-incident="{number}".*?</tr>', html, re.S)
    return match.group(0) if match else None


def appears(client, events, env, title):
    """Trigger an incident from another process; the stream names it and the fragment shows it."""
    incident = trigger(env, title)
    events.wait_for_change(incident["id"])
    shown = row(client.get("/dashboard/fragment").text, incident["number"])
    assert shown is not None and 'data-status="triggered"' in shown
    return incident


def paged_on_board(client, events, incident, explain):
    """The engine pages tier 1 (more timeline entries): the stream says so, the table shows whom."""
    deadline = time.monotonic() + WAIT_SECONDS
    shown = row(client.get("/dashboard/fragment").text, incident["number"])
    while "Ana Silva" not in shown:
        try:
            assert time.monotonic() < deadline
            events.wait_for_change(incident["id"])
        except AssertionError:
            raise AssertionError(f"tier 1 never showed as paged; {explain()}") from None
        shown = row(client.get("/dashboard/fragment").text, incident["number"])
    assert 'data-tier="1"' in shown and 'class="next-step" data-due="' in shown


def test_sqlite_stream_reports_changes_made_by_another_process(workdir):
    env = environment(workdir)
    tocsin(env, "migrate")
    _shell(env, SETUP)
    with Served(env) as server:
        client = signed_in(server.base)
        with client.stream("GET", "/events/dashboard") as response:
            events = EventReader(response)
            assert events.next() == (None, None)  # the opening comment: subscribed from here on
            assert 'id="no-open-incidents"' in client.get("/dashboard/fragment").text
            incident = appears(client, events, env, "Card payments failing")
        # Not waiting for tier 1 here: on SQLite the engine runs in the supervisor process, which
        # a job scheduled by another process wakes only at its next periodic look (up to 30 s).
        home = client.get("/").text
        assert row(home, incident["number"]) is not None and 'id="oncall-now"' in home


def _postgres_or_skip():
    try:
        return psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {POSTGRES} is unreachable ({type(exc).__name__})."
        if IN_CI:
            pytest.fail(f"{message} CI=true requires it.")
        line = "!" * 78
        sys.stderr.write(f"\n{line}\n!! SKIPPING the Postgres event-stream test: {message}\n{line}\n")
        pytest.skip(message)


@pytest.fixture
def live_postgres():
    admin = _postgres_or_skip()
    admin.execute(f"DROP DATABASE IF EXISTS {LIVE_DB} WITH (FORCE)")
    admin.execute(f"CREATE DATABASE {LIVE_DB}")
    yield admin
    admin.execute(f"DROP DATABASE IF EXISTS {LIVE_DB} WITH (FORCE)")
    admin.close()


def backends(admin):
    return admin.execute("SELECT pid, application_name, backend_start, left(query, 60) FROM pg_stat_activity "
                         "WHERE datname = %s ORDER BY pid", [LIVE_DB]).fetchall()


def feed_backends(admin):
    return [pid for (pid,) in admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
        [LIVE_DB, FEED]).fetchall()]


def step_errors():
    with psycopg.connect(f"{POSTGRES}/{LIVE_DB}", connect_timeout=5) as conn:
        found = conn.execute("SELECT kind, state, last_error FROM engine_job WHERE kind LIKE 'escalation.%%'")
        return f"escalation jobs: {found.fetchall()}"


@pytest.mark.postgres
def test_postgres_streams_share_one_listen_connection_that_reconnects(workdir, live_postgres):
    env = environment(workdir, TOCSIN_DATABASE_URL=f"{POSTGRES}/{LIVE_DB}")
    tocsin(env, "migrate")
    _shell(env, SETUP)
    with Served(env) as server, ExitStack() as open_streams:
        clients = [signed_in(server.base) for _ in range(6)]
        readers = []

        def watch(more):
            for client in more:
                readers.append(EventReader(open_streams.enter_context(client.stream("GET", "/events/dashboard"))))
                assert readers[-1].next() == (None, None)

        def held_since(moment):
            """Backends opened after `moment`, other than the feed's, still there after a while
            (closed connections leave pg_stat_activity a little after they close)."""
            deadline = time.monotonic() + WAIT_SECONDS
            while (found := [b for b in backends(live_postgres) if b[2] > moment and b[1] != FEED]) \
                    and time.monotonic() < deadline:
                time.sleep(0.2)
            return found

        opened = live_postgres.execute("SELECT now()").fetchone()[0]
        watch(clients[:3])
        assert len(feed_backends(live_postgres)) == 1  # three viewers, one LISTEN connection
        watch(clients[3:])
        assert len(feed_backends(live_postgres)) == 1
        assert held_since(opened) == []  # and an open stream holds no connection of its own
        first = appears(clients[0], readers[0], env, "Card payments failing")
        for reader in readers[1:]:
            reader.wait_for_change(first["id"])

        for pid in feed_backends(live_postgres):  # the database drops the feed's connection
            live_postgres.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + WAIT_SECONDS
        for reader in readers:  # after reconnecting, it says everything may have changed
            while reader.next() != ("changed", {}):
                assert time.monotonic() < deadline, "the feed never reconnected"
        second = appears(clients[1], readers[1], env, "Checkout down")
        for reader in readers[:1] + readers[2:]:
            reader.wait_for_change(second["id"])
        assert len(feed_backends(live_postgres)) == 1

        # Across processes the engine is woken by NOTIFY: tier 1 shows as paged, live.
        paged_on_board(clients[2], readers[2], second, step_errors)
