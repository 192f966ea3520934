"""Alert ingestion side by side with Prometheus Alertmanager: the same wrk load (one alert per
request, mixed new and repeated keys) against Alertmanager's /api/v2/alerts and Tocsin's
/v2/enqueue, then Tocsin's /integrations/<key>/batch; prints rates, the ratio, p99 latencies, and
checks that Tocsin stored exactly the events it answered 2xx for."""

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().with_name("wrk_alert.lua")
TOCSIN = str(Path(sys.executable).with_name("tocsin"))
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
WRK = "/usr/bin/wrk"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_DATABASE = "tocsin_benchingest"
RATIO_TARGET, BATCH_TARGET = 0.5, 20_000
# The highest limit an integration takes: 16,667 events/s (per HTTP worker; a 10 s burst on top).
RATE_LIMIT_PER_MINUTE = 1_000_000
WARMUP_SECONDS = 1.0
DRAIN_SECONDS = 3  # after the deadline, in-flight writes finish while wrk only reads
# wrk's own timeout (2 s by default) would count a slow answer as a socket error although it
# still arrives and is counted; with 30 s a slow answer shows in the latencies instead.

ALERTMANAGER_CONFIG = """\
route:
  receiver: discard
  group_by: [alertname]
receivers:
  - name: discard
"""

PRELUDE = """\
import json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
import django
django.setup()
"""

CREATE_INTEGRATION = """
from tocsin.alerts.services import create_integration
from tocsin.catalog import services as catalog
from tocsin.core import audit, services as core

system = audit.Actor.system("bench")
team = core.create_team(actor=system, name="Platform")
service = catalog.create_service(actor=system, source="cli", name="Storage", kind="technical", owner_team=team, tier=2)
_, key = create_integration(service, "events-v2", actor=system, name="Bench",
                            options={{"rate_limit_per_minute": {rate}}})
print(json.dumps({{"key": key}}))
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--duration", type=float, default=10, help="seconds of load per run (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--workers", type=int, default=1, help="HTTP workers of `tocsin serve --workers` (default 1)")
    parser.add_argument("--new-share", type=float, default=0.2,
                        help="share of events with a dedup key not seen before (default 0.2)")
    parser.add_argument("--batch-size", type=int, default=500,
                        help="events per /batch request (default 500; 0 skips the batched run)")
    parser.add_argument("--batch-connections", type=int, default=4, help="wrk connections for /batch (default 4)")
    parser.add_argument("--sqlite-synchronous", choices=["FULL", "NORMAL"], default="FULL",
                        help="TOCSIN_SQLITE_SYNCHRONOUS for the SQLite run (default FULL, Tocsin's default)")
    parser.add_argument("--postgres", default=PG_SERVER,
                        help=f"PostgreSQL server URL (default {PG_SERVER}); {PG_DATABASE} on it is dropped and created")
    parser.add_argument("--no-alertmanager", action="store_true", help="skip the Alertmanager run")
    parser.add_argument("--no-engine", action="store_true",
                        help="serve without the engine (the ingestion path alone; not how a user runs Tocsin)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, SQLite file)")
    return parser.parse_args()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url, proc, log_path, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    stop(proc)
    sys.exit(f"{url} never answered:\n{Path(log_path).read_text()[-3000:]}")


def start(command, log_path, env=None):
    log = open(log_path, "w")  # noqa: SIM115 - the child holds it; closed when the process ends
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def stop(proc):
    """Stop a child started by start(), and whatever is left of its process group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run_wrk(base_url, target, *, duration, connections, threads, new_share, prefix, key="", batch_size=1):
    """One wrk run; returns its figures (from the Lua script's summary line) and the command."""
    deadline = time.time() + duration
    command = [WRK, "-t", str(min(threads, connections)), "-c", str(connections),
               "-d", f"{int(duration + DRAIN_SECONDS + 0.999)}s", "--timeout", "30s", "--latency", "-s", str(LUA), base_url, "--",
               target, f"{deadline:.3f}", str(new_share), prefix, key, str(batch_size)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    lines = [line for line in result.stdout.splitlines() if line.startswith("BENCH ")]
    if result.returncode != 0 or not lines:
        sys.exit(f"wrk failed:\n{result.stdout}\n{result.stderr}")
    figures = json.loads(lines[-1][len("BENCH "):])
    figures["rate"] = figures["accepted_events"] / duration
    shown = [{f"{deadline:.3f}": "<now+duration>", key: "<key>"}.get(part, part) if part else part
             for part in command]
    figures["command"] = " ".join(part or "''" for part in shown)
    figures["wrk_output"] = result.stdout
    return figures


def show(label, figures, events_per_request=1):
    failures = figures["failed_requests"] + figures["socket_errors"]
    print(f"  {label}: {figures['rate']:,.0f} events/s accepted "
          f"({figures['accepted_events']:,} events in {figures['accepted_events'] // events_per_request:,} requests), "
          f"failures {failures} (non-2xx {figures['failed_requests']}, socket errors {figures['socket_errors']}), "
          f"latency p50 {figures['p50_us'] / 1000:.2f} ms, p99 {figures['p99_us'] / 1000:.2f} ms, "
          f"max {figures['max_us'] / 1000:.1f} ms")
    print(f"    wrk: {figures['command']}")


def bench_alertmanager(args, workdir):
    port = free_port()
    config = workdir / "alertmanager.yml"
    config.write_text(ALERTMANAGER_CONFIG)
    command = [ALERTMANAGER, f"--config.file={config}", f"--storage.path={workdir / 'alertmanager-data'}",
               f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"]
    proc = start(command, workdir / "alertmanager.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/-/ready", proc, workdir / "alertmanager.log")
        print(f"Alertmanager {version(ALERTMANAGER)} (in-memory, one receiver that does nothing): {' '.join(command)}")
        load = dict(connections=args.connections, threads=args.threads, new_share=args.new_share)
        run_wrk(base, "alertmanager", duration=WARMUP_SECONDS, prefix="warmup", **load)
        figures = run_wrk(base, "alertmanager", duration=args.duration, prefix="run", **load)
        show("one alert per request", figures)
        return figures
    finally:
        stop(proc)


def version(binary):
    result = subprocess.run([binary, "--version"], capture_output=True, text=True)
    return (result.stdout or result.stderr).split("\n")[0].split("version ")[-1].split(" ")[0]


def environment(url, workdir, synchronous):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.update(TOCSIN_DATABASE_URL=url, TOCSIN_AUDIT_ANCHOR_FILE=str(workdir / "audit.anchors"),
               TOCSIN_SQLITE_SYNCHRONOUS=synchronous, DJANGO_SETTINGS_MODULE="tocsin.settings")
    return env


def django(env, code):
    result = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)], env=env, capture_output=True,
                            text=True, timeout=600, cwd=ROOT)
    if result.returncode != 0:
        sys.exit(f"a bench setup step failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def fresh_postgres(server):
    with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    return f"{server}/{PG_DATABASE}"


def stored_figures(database, url):
    """(alerts, sum of occurrences, alerts the engine has handled) straight from the database."""
    sql = "SELECT COUNT(*), COALESCE(SUM(occurrences), 0), COUNT(*) FILTER (WHERE NOT dirty) FROM alerts_alert"
    if database == "sqlite":
        with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30) as conn:
            return conn.execute(sql).fetchone()
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()


def bench_tocsin(args, workdir, database):
    if database == "sqlite":
        url, synchronous = f"sqlite:///{workdir / 'tocsin.db'}", args.sqlite_synchronous
        label = f"SQLite (WAL, synchronous={synchronous})"
    else:
        url, synchronous = fresh_postgres(args.postgres), "FULL"
        label = f"PostgreSQL ({args.postgres}/{PG_DATABASE}, synchronous_commit as the server has it)"
    env = environment(url, workdir, synchronous)
    subprocess.run([TOCSIN, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    key = django(env, CREATE_INTEGRATION.format(rate=RATE_LIMIT_PER_MINUTE))["key"]
    port = free_port()
    command = [TOCSIN, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers),
               *(["--no-engine"] if args.no_engine else [])]
    log_path = workdir / f"tocsin-{database}.log"
    proc = start(command, log_path, env=env)
    results = {}
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/integrations/openapi.json", proc, log_path)
        print(f"Tocsin on {label}: {' '.join(command[1:2] + command[6:])} "
              f"({'without' if args.no_engine else 'with'} its engine)")
        load = dict(threads=args.threads, new_share=args.new_share, key=key)
        warmup = run_wrk(base, "enqueue", duration=WARMUP_SECONDS, prefix="warmup", connections=args.connections,
                         **load)
        single = run_wrk(base, "enqueue", duration=args.duration, prefix="run", connections=args.connections, **load)
        show("one event per request, POST /v2/enqueue", single)
        results["single"] = single
        expected = warmup["accepted_events"] + single["accepted_events"]
        if args.batch_size:
            batch = run_wrk(base, "batch", duration=args.duration, prefix="batch", connections=args.batch_connections,
                            batch_size=args.batch_size, **load)
            show(f"batched, {args.batch_size} events per POST /integrations/<key>/batch", batch, args.batch_size)
            results["batch"] = batch
            expected += batch["accepted_events"]
    finally:
        stop(proc)
    alerts, occurrences, handled = stored_figures(database, url)
    results["consistent"] = occurrences == expected
    print(f"  stored: {alerts:,} alerts, {occurrences:,} occurrences; 2xx events counted by wrk {expected:,} "
          f"(warm-up included) -> {'OK' if results['consistent'] else 'MISMATCH'}; "
          f"the engine had handled {handled:,} of the alerts when the server stopped")
    results["label"] = label
    return results


def fsync_latency(workdir, rounds=50):
    """Median time to write and fsync 4 KiB where the SQLite file lives: what a durable commit costs."""
    samples = []
    fd = os.open(workdir / "fsync-probe", os.O_WRONLY | os.O_CREAT)
    try:
        for _ in range(rounds):
            started = time.perf_counter()
            os.write(fd, b"x" * 4096)
            os.fsync(fd)
            samples.append(time.perf_counter() - started)
    finally:
        os.close(fd)
        os.unlink(workdir / "fsync-probe")
    return sorted(samples)[rounds // 2] * 1000


def main():
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="tocsin-bench-ingest-"))
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, "
          f"fsync of 4 KiB in {workdir.parent}: {fsync_latency(workdir):.2f} ms (median)")
    print(f"wrk: {args.connections} connections, {args.threads} threads, {args.duration:g} s per run "
          f"(plus a {WARMUP_SECONDS:g} s warm-up), {args.new_share:.0%} of events with a new dedup key "
          f"(the rest repeat one of the same wrk thread's keys, drawn with a seeded generator)")
    try:
        manager = None if args.no_alertmanager else bench_alertmanager(args, workdir)
        databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
        tocsin = {database: bench_tocsin(args, workdir, database) for database in databases}
    finally:
        if args.keep:
            print(f"(logs and data kept in {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"machine load average at the end: {os.getloadavg()[0]:.1f}")
    summarise(args, manager, tocsin)


def summarise(args, manager, tocsin):
    print("\nSummary")
    healthy = True
    if manager:
        print(f"  Alertmanager: {manager['rate']:,.0f} alerts/s, p99 {manager['p99_us'] / 1000:.2f} ms")
    for database, results in tocsin.items():
        single = results["single"]
        failures = single["failed_requests"] + single["socket_errors"]
        line = (f"  Tocsin on {results['label']}: {single['rate']:,.0f} events/s, p99 {single['p99_us'] / 1000:.2f} ms, "
                f"{failures} failures")
        if manager:
            ratio = single["rate"] / manager["rate"]
            line += f", ratio {ratio:.2f} x Alertmanager"
            if database == "sqlite":
                met = ratio >= RATIO_TARGET and failures == 0
                line += f" (target >= {RATIO_TARGET}: {'met' if met else 'NOT met'})"
                healthy = healthy and met
        print(line)
        if "batch" in results:
            batch = results["batch"]
            met = batch["rate"] >= BATCH_TARGET and batch["failed_requests"] + batch["socket_errors"] == 0
            print(f"    batched ({args.batch_size} per request): {batch['rate']:,.0f} events/s, "
                  f"p99 {batch['p99_us'] / 1000:.2f} ms per request (target >= {BATCH_TARGET:,}: "
                  f"{'met' if met else 'NOT met'})")
            healthy = healthy and met
        print(f"    stored occurrences equal to 2xx events: {'OK' if results['consistent'] else 'MISMATCH'}")
        healthy = healthy and results["consistent"]
    sys.exit(0 if healthy else 1)


if __name__ == "__main__":
    main()
