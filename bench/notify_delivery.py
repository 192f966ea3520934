"""Notification delivery, measured outside Tocsin against local servers that speak SMTP and
Twilio's REST API:

1. latency: from a client's POST /v2/enqueue to the page's arrival at the SMTP sink or the SMS
   stub, through a real `tocsin serve` (ingestion, processor, incident, escalation, dispatch,
   sending), bundling on; p50 and p99 over 1,000 alerts, each opening an incident that pages one
   of many people;
2. fan-out: 10,000 notification requests to distinct people handed to a `tocsin worker` at once,
   provider rate limits off; arrivals counted at the SMTP sink, reported as messages per second.

Targets (DESIGN "Performance budget"): p99 < 250 ms; 10,000 recipients in < 10 s."""

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from ingest_vs_alertmanager import ROOT, TOCSIN, django, environment, free_port, fresh_postgres, start, stop, wait_http

sys.path.insert(0, str(ROOT))
from tests.notify.servers import SmtpSink, TwilioStub  # noqa: E402  (the same local servers the tests use)

LATENCY_TARGET_MS, FANOUT_TARGET_SECONDS = 250, 10
WARMUP_ALERTS = 10
TOKEN = re.compile(r"bench-(\d+)")
SUBJECT = re.compile(rb"^Subject: (.*)$", re.MULTILINE)

LATENCY_SETUP = """
import json
from tocsin.alerts.models import ServiceAlertSettings
from tocsin.alerts.services import create_integration
from tocsin.catalog import services as catalog
from tocsin.core import audit, services as core
from tocsin.directory import services as directory
from tocsin.escalation import services as escalation
from tocsin.notify.models import Provider

SYSTEM = audit.Actor.system("bench")
Provider.objects.create(name="mail", kind="smtp", channels=["email"], settings={{
    "host": "127.0.0.1", "port": {smtp_port}, "from_address": "tocsin@bench.example"}})
Provider.objects.create(name="twilio", kind="twilio", channels=["sms", "voice"],
                        settings={{"base_url": "{twilio_url}", "from_number": "+15005550006"}},
                        secrets=json.dumps({{"account_sid": "{sid}", "auth_token": "{token}"}}))
team = core.create_team(actor=SYSTEM, name="Platform")
keys = []
for n in range({people}):
    person = directory.create_person(actor=SYSTEM, source="cli", name=f"Responder {{n}}")
    if n % 2:
        directory.add_method(actor=SYSTEM, person=person, kind="sms", value=f"+1202555{{n:04d}}")
    else:
        directory.add_method(actor=SYSTEM, person=person, kind="email", value=f"responder{{n}}@bench.example")
    service = catalog.create_service(actor=SYSTEM, source="cli", name=f"Service {{n}}", kind="technical",
                                     owner_team=team, tier=2)
    ServiceAlertSettings.objects.create(service=service, flood_limit=0)
    policy = escalation.create_policy(f"Policy {{n}}", {{"tiers": [
        {{"delay_minutes": 10, "targets": [{{"type": "person", "id": person.pk}}]}}]}}, actor=SYSTEM)
    escalation.link_service(service, policy, actor=SYSTEM)
    keys.append(create_integration(service, "events-v2", actor=SYSTEM, name="Bench")[1])
print(json.dumps({{"keys": keys}}))
"""

FANOUT_SETUP = """
import json
from django.utils import timezone
from tocsin.catalog import services as catalog
from tocsin.core import audit, services as core
from tocsin.directory.models import ContactMethod, Person
from tocsin.directory.values import index_for
from tocsin.engine import queue
from tocsin.escalation.models import NotificationRequest
from tocsin.incidents import services as incidents
from tocsin.notify.models import Provider

SYSTEM = audit.Actor.system("bench")
Provider.objects.create(name="mail", kind="smtp", channels=["email"], settings={{
    "host": "127.0.0.1", "port": {smtp_port}, "from_address": "tocsin@bench.example"}})
team = core.create_team(actor=SYSTEM, name="Everyone")
service = catalog.create_service(actor=SYSTEM, source="cli", name="Headquarters", kind="business",
                                 owner_team=team, tier=1)
incident = incidents.trigger_incident(service, "bench-0 Headquarters evacuation", actor=SYSTEM)
people = Person.objects.bulk_create([Person(name=f"Person {{n}}") for n in range({people})], batch_size=1000)
ContactMethod.objects.bulk_create([
    ContactMethod(person=p, kind="email", value=f"person{{n}}@bench.example",
                  value_index=index_for("email", f"person{{n}}@bench.example"))
    for n, p in enumerate(people)], batch_size=1000)
now = timezone.now()
NotificationRequest.objects.bulk_create([
    NotificationRequest(key=f"bench:{{p.pk}}", incident=incident, person=p, reason="responder", urgency="high",
                        created_at=now) for p in people], batch_size=1000)
print(json.dumps({{"requests": len(people)}}))
"""

SCHEDULE_DISPATCH = """
import json, time
from tocsin.engine import queue
queue.schedule("notify.dispatch", key="notify.dispatch")
print(json.dumps({"at": time.time()}))
"""


class Arrivals:
    """Stamps each message the local servers receive with the time it arrived."""

    def __init__(self):
        self.lock = threading.Lock()
        self.first = {}  # bench token -> (arrival time, channel)
        self.count = 0
        self.times = []  # every arrival's time

    def note(self, channel, text):
        now = time.time()
        with self.lock:
            self.count += 1
            self.times.append(now)
            match = TOKEN.search(text or "")
            if match and match.group(1) not in self.first:
                self.first[match.group(1)] = (now, channel)


def stamped(server_class, arrivals, channel, text_of):
    class Stamped(server_class):
        def _append(self, items, item):
            if items is self.messages:
                arrivals.note(channel, text_of(item))
            super()._append(items, item)

    return Stamped


def stamped_sink(arrivals):
    """The tests' SMTP sink, stamping each message as it arrives, without parsing it (the parse
    would cost the bench more than the sending costs Tocsin)."""
    class Sink(SmtpSink):
        async def handle_DATA(self, server, session, envelope):
            subject = SUBJECT.search(envelope.content)
            arrivals.note("email", subject.group(1).decode("ascii", "replace") if subject else "")
            return "250 Message accepted for delivery"

    return Sink()


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def bench_latency(args, database, workdir):
    arrivals = Arrivals()
    sink = stamped_sink(arrivals)
    stub = stamped(TwilioStub, arrivals, "sms", lambda form: form.get("Body", ""))()
    url = f"sqlite:///{workdir / 'latency.db'}" if database == "sqlite" else fresh_postgres(args.postgres)
    port = free_port()
    env = environment(url, workdir, "FULL")
    env.update(TOCSIN_BASE_URL=f"http://127.0.0.1:{port}", TOCSIN_SEND_JOURNAL_DIR=str(workdir / "journal"))
    with sink, stub:
        subprocess_run([TOCSIN, "migrate"], env)
        keys = django(env, LATENCY_SETUP.format(smtp_port=sink.port, twilio_url=stub.url, sid=stub.account_sid,
                                                token=stub.auth_token, people=args.people))["keys"]
        log_path = workdir / f"serve-{database}.log"
        proc = start([TOCSIN, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-smtp"], log_path, env=env)
        sent = {}
        try:
            wait_http(f"http://127.0.0.1:{port}/integrations/openapi.json", proc, log_path)
            spacing = 1 / args.rate
            client = httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=8))
            posted = []

            def send(n):
                body = {"routing_key": keys[n % len(keys)], "event_action": "trigger", "dedup_key": f"bench-{n:04d}",
                        "payload": {"summary": f"bench-{n:04d} disk full", "source": "bench", "severity": "critical"}}
                sent[f"{n:04d}"] = time.time()
                client.post(f"http://127.0.0.1:{port}/v2/enqueue", json=body).raise_for_status()
                posted.append((time.time() - sent[f"{n:04d}"]) * 1000)

            for n in range(WARMUP_ALERTS):  # not counted: first requests pay for imports and caches
                client.post(f"http://127.0.0.1:{port}/v2/enqueue", json={
                    "routing_key": keys[n], "event_action": "trigger", "dedup_key": f"warm-up-{n}",
                    "payload": {"summary": f"warm-up {n}", "source": "bench", "severity": "critical"}})
            time.sleep(2)
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=8) as pool:
                for n in range(args.alerts):
                    time.sleep(max(0.0, started + n * spacing - time.monotonic()))
                    pool.submit(send, n)
            client.close()
            deadline = time.monotonic() + 30
            while len(arrivals.first) < args.alerts and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            stop(proc)
    posted = posted or [float("nan")]
    latencies = {"email": [], "sms": []}
    for token, (arrived, channel) in arrivals.first.items():
        if token in sent:
            latencies[channel].append((arrived - sent[token]) * 1000)
    every = latencies["email"] + latencies["sms"]
    missing = args.alerts - len(every)
    print(f"  {database}: {args.alerts} alerts at {args.rate:g}/s to {args.people} people; arrived {len(every)}"
          f" (missing {missing}); the 202 itself took p50 {statistics.median(posted):.1f} ms,"
          f" p99 {percentile(posted, 0.99):.1f} ms")
    for channel, values in (("e-mail", latencies["email"]), ("SMS", latencies["sms"]), ("all", every)):
        if values:
            print(f"    {channel:>6}: p50 {statistics.median(values):6.1f} ms, p99 {percentile(values, 0.99):6.1f} ms,"
                  f" max {max(values):6.1f} ms ({len(values)} messages)")
    p99 = percentile(every, 0.99)
    verdict = "met" if every and not missing and p99 < LATENCY_TARGET_MS else "NOT met"
    print(f"    target p99 < {LATENCY_TARGET_MS} ms: {verdict}")
    return p99


def bench_fanout(args, database, workdir):
    arrivals = Arrivals()
    sink = stamped_sink(arrivals)
    url = f"sqlite:///{workdir / 'fanout.db'}" if database == "sqlite" else fresh_postgres(args.postgres)
    env = environment(url, workdir, "FULL")
    env.update(TOCSIN_SEND_JOURNAL_DIR=str(workdir / "journal-fanout"))
    with sink:
        subprocess_run([TOCSIN, "migrate"], env)
        django(env, FANOUT_SETUP.format(smtp_port=sink.port, people=args.fanout))
        log_path = workdir / f"worker-{database}.log"
        proc = start([TOCSIN, "worker"], log_path, env=env)
        try:
            deadline = time.monotonic() + 60
            while "is running" not in log_path.read_text() and time.monotonic() < deadline:
                time.sleep(0.05)
            # From the instant the dispatch job is in the queue (the script that puts it there
            # takes a second or so to start, which is not Tocsin's to count).
            began = django(env, SCHEDULE_DISPATCH)["at"]
            deadline = began + 120
            while arrivals.count < args.fanout and time.time() < deadline:
                time.sleep(0.05)
            took = (arrivals.times[-1] if arrivals.count >= args.fanout else time.time()) - began
        finally:
            stop(proc)
    rate = arrivals.count / took if took else 0
    verdict = "met" if arrivals.count >= args.fanout and took < FANOUT_TARGET_SECONDS else "NOT met"
    print(f"  {database}: {arrivals.count:,} of {args.fanout:,} messages at the SMTP sink in {took:.1f} s"
          f" ({rate:,.0f} messages/s); target < {FANOUT_TARGET_SECONDS} s: {verdict}")
    marks = [n for n in (1, 1000, 5000) if n <= len(arrivals.times)]
    if marks:
        print("    arrivals: " + ", ".join(f"{n:,}th after {arrivals.times[n - 1] - began:.1f} s" for n in marks))


def subprocess_run(command, env):
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10, help="alerts a second sent by the client, each opening an incident (default 10)")
    parser.add_argument("--people", type=int, default=200, help="people (and services) paged (default 200)")
    parser.add_argument("--fanout", type=int, default=10_000, help="recipients of the fan-out (0 skips it)")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the working folder (logs, databases)")
    args = parser.parse_args()
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    folder = tempfile.mkdtemp(prefix="tocsin-bench-notify-")
    try:
        workdir = Path(folder)
        if not args.skip_latency:
            print("Latency: client POST /v2/enqueue -> message at the local SMTP sink / SMS stub (bundling on)")
            for database in databases:
                bench_latency(args, database, workdir)
        if args.fanout:
            print(f"Fan-out: {args.fanout:,} notification requests to distinct people, rate limits off")
            for database in databases:
                bench_fanout(args, database, workdir)
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
