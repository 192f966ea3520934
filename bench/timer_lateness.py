"""Timer lateness: 10,000 `engine.probe` jobs due over 60 s, run by real `tocsin worker` processes
(one on SQLite, two on PostgreSQL); prints p50, p99 and max of (run time - due_at), early runs, runs."""

import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
TOCSIN = str(Path(sys.executable).with_name("tocsin"))
WORKDIR = Path("/tmp/tocsin-bench")
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
P99_BUDGET_MS, MAX_BUDGET_MS = 100, 500
PRELUDE = """\
import json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
import django
django.setup()
"""

SCHEDULE = """
from datetime import timedelta
from django.utils import timezone
from tocsin.engine import queue

count, seconds, lead = {jobs}, {seconds}, {lead}
first = timezone.now() + timedelta(seconds=lead)
step = timedelta(seconds=seconds) / count
queue.schedule_many(("engine.probe", first + i * step, {{"n": i}}, None) for i in range(count))
print(json.dumps({{"first_due": first.timestamp()}}))
"""

PROGRESS = """
from tocsin.engine.models import Job
probes = Job.objects.filter(kind="engine.probe")
print(json.dumps({"done": probes.filter(state=Job.DONE).count(), "all": probes.count()}))
"""

LATENESS = """
from tocsin.engine.models import Job
rows = Job.objects.filter(kind="engine.probe", state=Job.DONE).values_list("due_at", "finished_at")
print(json.dumps([(finished - due).total_seconds() * 1000 for due, finished in rows]))
"""


def environment(url, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.update(TOCSIN_DATABASE_URL=url, TOCSIN_AUDIT_ANCHOR_FILE=str(WORKDIR / "audit.anchors"))
    env.update(extra)
    return env


def django(env, code, timeout=600):
    """Run `code` against env's database in a child Python; its last line is JSON."""
    result = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)], env=env, capture_output=True,
                            text=True, timeout=timeout)
    if result.returncode != 0:
        sys.exit(f"a bench script failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def tocsin(env, *args):
    result = subprocess.run([TOCSIN, *args], env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        sys.exit(f"tocsin {' '.join(args)} failed:\n{result.stderr[-3000:]}")


class Worker:
    """A `tocsin worker` child logging to WORKDIR."""

    def __init__(self, env, name, *options, prefix=()):
        self.name = name
        self.log_path = WORKDIR / f"{name}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([*prefix, TOCSIN, "worker", "--name", name, *options], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def wait_running(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "is running" in self.log_path.read_text():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        sys.exit(f"worker {self.name} did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return self.proc.returncode


def fresh_sqlite(name):
    path = WORKDIR / f"{name}.db"
    for suffix in ("", "-wal", "-shm", ".engine-lock"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def fresh_postgres(server, name):
    with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def percentile(ordered, fraction):
    """Nearest rank: the smallest value with at least `fraction` of the values at or below it."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def wait_done(env, expected, timeout, label):
    deadline = time.monotonic() + timeout
    while True:
        progress = django(env, PROGRESS)
        if progress["done"] >= expected or time.monotonic() > deadline:
            return progress
        time.sleep(2 if deadline - time.monotonic() > 5 else 0.5)
        print(f"  {label}: {progress['done']:,} of {expected:,} run", end="\r", flush=True)


def run(label, url, workers, args):
    print(f"\n== {label}: {workers} worker process(es), {args.jobs:,} engine.probe jobs due over {args.seconds} s")
    env = environment(url)
    tocsin(env, "migrate")
    scheduled = django(env, SCHEDULE.format(jobs=args.jobs, seconds=args.seconds, lead=args.lead))
    options = ("--batch", str(args.batch)) if args.batch else ()
    started = [Worker(env, f"bench-timers-{label.lower()}-{n}", *options) for n in range(workers)]
    try:
        for worker in started:
            worker.wait_running()
        if time.time() > scheduled["first_due"]:
            print(f"  warning: the workers started {time.time() - scheduled['first_due']:.1f} s after the first "
                  "job was due; raise --lead")
        remaining = scheduled["first_due"] + args.seconds - time.time()
        progress = wait_done(env, args.jobs, remaining + 120, label)
    finally:
        codes = [worker.stop() for worker in started]
    late = sorted(django(env, LATENESS))
    early = sum(1 for ms in late if ms < 0)
    result = {
        "db": label, "workers": workers, "run": len(late), "scheduled": progress["all"], "early": early,
        "p50_ms": percentile(late, 0.50) if late else None, "p99_ms": percentile(late, 0.99) if late else None,
        "max_ms": late[-1] if late else None, "exit_codes": codes,
    }
    ok = (result["run"] == args.jobs and early == 0 and late and result["p99_ms"] < P99_BUDGET_MS
          and result["max_ms"] < MAX_BUDGET_MS)
    print(f"  run {result['run']:,} of {args.jobs:,} (must be all) · early {early} (must be 0)")
    if late:
        print(f"  lateness  p50 {result['p50_ms']:.1f} ms · p99 {result['p99_ms']:.1f} ms · max {result['max_ms']:.1f} ms"
              f"  (targets p99 < {P99_BUDGET_MS} ms, max < {MAX_BUDGET_MS} ms) → {'OK' if ok else 'MISSED'}")
    print(f"  worker exit codes after SIGTERM: {codes}; logs in {WORKDIR}")
    return result, ok


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--jobs", type=int, default=10_000, help="probe jobs (default 10000)")
    parser.add_argument("--seconds", type=float, default=60, help="their due times spread over this long (default 60)")
    parser.add_argument("--lead", type=float, default=8, help="seconds from scheduling to the first due job, "
                        "covering worker start-up (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes on PostgreSQL (default 2)")
    parser.add_argument("--batch", type=int, default=None, help="jobs per claim (default: the worker's)")
    parser.add_argument("--postgres", default=PG_SERVER, help=f"PostgreSQL server URL (default {PG_SERVER}); "
                        "the database tocsin_bench_timers on it is dropped and created")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    return parser.parse_args()


def main():
    args = parse_args()
    WORKDIR.mkdir(parents=True, exist_ok=True)
    if shutil.which(TOCSIN) is None and not Path(TOCSIN).exists():
        sys.exit(f"{TOCSIN} not found: run this with the project's virtualenv Python")
    results, all_ok = [], True
    if args.db in ("sqlite", "both"):
        result, ok = run("SQLite", fresh_sqlite("lateness"), 1, args)
        results.append(result)
        all_ok &= ok
    if args.db in ("postgres", "both"):
        result, ok = run("PostgreSQL", fresh_postgres(args.postgres, "tocsin_bench_timers"), args.workers, args)
        results.append(result)
        all_ok &= ok
    if args.json:
        print(json.dumps(results, indent=2))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
