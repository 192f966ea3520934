"""No loss, no duplicates under faults: 200 incidents escalate on a private PostgreSQL server with
3 `tocsin worker` processes while workers are SIGKILLed (fixed seed) and the server restarts once.
At the end every incident has exactly the notification requests its policy implies."""

import random
import signal
import time
from collections import Counter

import psycopg
import pytest

from . import pgcluster, processes

SEED = 20260302
INCIDENTS = 200
TRIGGER_SECONDS = 8.0  # incidents arrive over this long, so steps are in flight for a while
LEASE_SECONDS = 3
WORKERS = 3
KILL_EVERY = (2.0, 4.0)  # seconds between kills, drawn from random.Random(SEED)
WINDOW_SECONDS = 60  # tier 1's delay: tier 2 is paged this long after tier 1
DRAIN_SECONDS = 45  # beyond the last tier-2 due time, before the test gives up

# Tier 1 pages Ada and Bo; a minute later tier 2 pages Cy; a minute after that the fallback (Fay),
# which falls outside the test's window and stays pending.
EXPECTED = {("Ada", "page", 0), ("Bo", "page", 0), ("Cy", "page", 1)}

SETUP = """
import json
from tocsin.catalog import services as catalog
from tocsin.core import audit, services as core
from tocsin.directory import services as directory
from tocsin.escalation import services as escalation

SYSTEM = audit.Actor.system("fault-test")
people = {n: directory.create_person(actor=SYSTEM, source="cli", name=n) for n in ("Ada", "Bo", "Cy", "Fay")}
team = core.create_team(actor=SYSTEM, name="Platform")
service = catalog.create_service(actor=SYSTEM, source="cli", name="Payments", kind="technical", owner_team=team,
                                 tier=2)

def targets(*names):
    return [{"type": "person", "id": people[n].pk} for n in names]

policy = escalation.create_policy("Fault drill", {
    "tiers": [{"delay_minutes": 1, "targets": targets("Ada", "Bo")}, {"delay_minutes": 1, "targets": targets("Cy")}],
    "follow_up_minutes": 0, "repeat": 0, "fallback": targets("Fay"),
}, actor=SYSTEM)
escalation.link_service(service, policy, actor=SYSTEM)
print(json.dumps({"service": service.pk}))
"""

TRIGGER = """
import time
from tocsin.catalog.models import Service
from tocsin.core import audit
from tocsin.incidents import services as incidents

SYSTEM = audit.Actor.system("fault-test")
service = Service.objects.get(pk={service})
started = time.monotonic()
for i in range({count}):
    time.sleep(max(0.0, started + i * {spacing} - time.monotonic()))
    incidents.trigger_incident(service, f"Fault drill incident {{i}}", actor=SYSTEM)
print("triggered", {count})
"""


# It runs a PostgreSQL server of its own, whatever the database of the pass: once is enough.
pytestmark = pytest.mark.own_postgres


@pytest.fixture
def cluster():
    pgcluster.skip_or_fail()
    with pgcluster.Cluster() as running:
        yield running


class Watcher:
    """Reads progress straight from the server, reconnecting across its restart."""

    def __init__(self, cluster, dbname):
        self.cluster, self.dbname, self.conn = cluster, dbname, None

    def query(self, sql, *params):
        for _ in range(100):
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = self.cluster.connect(self.dbname, autocommit=True)
                return self.conn.execute(sql, params).fetchall()
            except psycopg.OperationalError:
                self.conn = None
                time.sleep(0.2)
        raise AssertionError("the private PostgreSQL server did not come back")

    def value(self, sql, *params):
        return self.query(sql, *params)[0][0]

    def close(self):
        if self.conn is not None:
            self.conn.close()


def test_every_incident_gets_exactly_its_pages_through_kills_and_a_server_restart(cluster, tmp_path):
    began = time.monotonic()
    dbname = "tocsin_faults"
    env = processes.environment(cluster.create_database(dbname), tmp_path)
    processes.tocsin(env, "migrate")
    service = processes.django(env, SETUP)["service"]

    rng = random.Random(SEED)
    serial = iter(range(1, 1000))
    options = ("--lease-seconds", str(LEASE_SECONDS))
    workers = [processes.worker(env, tmp_path, f"drill-worker-{next(serial)}", *options) for _ in range(WORKERS)]
    for w in workers:
        w.wait_for_output("is running")
    triggering = processes.python(env, tmp_path, "trigger", TRIGGER.format(
        service=service, count=INCIDENTS, spacing=TRIGGER_SECONDS / INCIDENTS))
    watcher = Watcher(cluster, dbname)
    kills, restarted, finished = 0, False, False
    next_kill = time.monotonic() + rng.uniform(*KILL_EVERY)
    give_up = time.monotonic() + TRIGGER_SECONDS + WINDOW_SECONDS + DRAIN_SECONDS + 30
    try:
        while time.monotonic() < give_up:
            now = time.monotonic()
            if now >= next_kill:
                victim = rng.randrange(WORKERS)
                # Only an engine that is up: killing one still importing Django proves nothing.
                if "engine started" in workers[victim].output():
                    workers[victim].signal(signal.SIGKILL)
                    workers[victim].wait()
                    workers[victim] = processes.worker(env, tmp_path, f"drill-worker-{next(serial)}", *options)
                    kills += 1
                next_kill = now + rng.uniform(*KILL_EVERY)
            tier_two = watcher.value("SELECT count(*) FROM escalation_notificationrequest WHERE tier = 1")
            # Restart the server while tier-2 steps are being run, so some die mid-transaction.
            if not restarted and tier_two >= INCIDENTS // 3:
                cluster.restart()
                restarted = True
            if restarted and not triggering.running() and _all_due_steps_done(watcher):
                finished = True
                break
            time.sleep(0.2)
        assert triggering.wait(timeout=5) == 0, triggering.output()[-3000:]
        assert finished, f"the escalations did not finish in time:\n{_diagnosis(watcher, workers)}"
        _assert_exactly_the_pages_implied(watcher)
        steps = _step_counts(watcher)
        retried = watcher.value("SELECT count(*) FROM engine_job WHERE kind = 'escalation.step' AND attempts > 1")
        requests = watcher.value("SELECT count(*) FROM escalation_notificationrequest")
        print(f"\nfault run: {INCIDENTS} incidents, {WORKERS} workers, seed {SEED}: {kills} SIGKILLs, "
              f"1 PostgreSQL restart; {requests} notification requests (expected {INCIDENTS * len(EXPECTED)}); "
              f"escalation steps done {steps.get('done', 0)}, pending {steps.get('pending', 0)} (fallbacks due "
              f"later), retaken or retried {retried}; {time.monotonic() - began:.0f} s in all")
    finally:
        for w in workers:
            w.stop()
        if triggering.running():
            triggering.signal(signal.SIGKILL)
        triggering.wait()
        watcher.close()


def _all_due_steps_done(watcher):
    incidents, due, tier_two = watcher.query(
        "SELECT (SELECT count(*) FROM incidents_incident),"
        " (SELECT count(*) FROM engine_job WHERE state = 'pending' AND kind = 'escalation.step' AND due_at <= now()),"
        " (SELECT count(*) FROM escalation_notificationrequest WHERE tier = 1)")[0]
    return incidents == INCIDENTS and due == 0 and tier_two >= INCIDENTS


def _step_counts(watcher):
    return dict(watcher.query("SELECT state, count(*) FROM engine_job WHERE kind = 'escalation.step' GROUP BY state"))


def _assert_exactly_the_pages_implied(watcher):
    rows = watcher.query(
        "SELECT i.id, p.name, r.reason, r.tier, r.cycle, r.follow_up, r.run, r.created_at"
        " FROM escalation_notificationrequest r JOIN incidents_incident i ON i.id = r.incident_id"
        " JOIN directory_person p ON p.id = r.person_id")
    incidents = [row[0] for row in watcher.query("SELECT id FROM incidents_incident")]
    assert len(incidents) == INCIDENTS
    pages = {incident: [] for incident in incidents}
    for incident, name, reason, tier, cycle, follow_up, run, created_at in rows:
        assert (cycle, follow_up, run) == (0, 0, 0), (incident, name, reason, tier, cycle, follow_up, run)
        pages[incident].append(((name, reason, tier), created_at))
    wrong = {i: sorted(p for p, _ in found) for i, found in pages.items()
             if Counter(p for p, _ in found) != Counter(EXPECTED)}
    assert not wrong, f"{len(wrong)} incidents paged other than {sorted(EXPECTED)}, e.g. {list(wrong.items())[:5]}"
    for incident, found in pages.items():
        at = {key[2]: created for key, created in found}
        # Never early: tier 2 is paged no sooner than tier 1's window after tier 1.
        assert (at[1] - at[0]).total_seconds() >= WINDOW_SECONDS, (incident, at)

    dead = watcher.query("SELECT kind, last_error FROM engine_job WHERE state = 'dead'")
    assert dead == [], f"dead letters: {dead[:5]}"

    entries = watcher.query("SELECT incident_id, kind, data->>'tier' FROM incidents_timelineentry")
    per_incident = Counter((incident, kind, tier) for incident, kind, tier in entries)
    doubled = {key: n for key, n in per_incident.items() if n > 1}
    assert not doubled, f"duplicate timeline entries: {list(doubled.items())[:5]}"
    kinds = Counter(kind for _, kind, _ in entries)
    assert kinds == {"created": INCIDENTS, "escalated": 2 * INCIDENTS}, kinds

    steps = _step_counts(watcher)
    assert steps == {"done": 2 * INCIDENTS, "pending": INCIDENTS}, steps  # the fallback steps are not due yet
    escalations = watcher.query("SELECT state, tier, seq, count(*) FROM escalation_escalation GROUP BY 1, 2, 3")
    assert escalations == [("running", 2, 3, INCIDENTS)], escalations


def _diagnosis(watcher, workers):
    jobs = watcher.query("SELECT kind, state, count(*), max(attempts) FROM engine_job GROUP BY 1, 2 ORDER BY 1, 2")
    tail = "\n".join(f"--- {w.label}\n{w.output()[-1500:]}" for w in workers)
    return f"jobs: {jobs}\n{tail}"
