"""Escalation throughput on PostgreSQL: N incidents triggered while no worker runs (one step due each),
then 2 `tocsin worker` processes step them all; prints steps/s and checks 2 outbox rows per incident."""

import argparse
import os
import pstats
import sys
import time

from timer_lateness import PG_SERVER, WORKDIR, Worker, environment, fresh_postgres

TARGET_PER_SECOND = 1000
DBNAME = "tocsin_bench_escalation"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=20_000, help="incidents triggered (default 20000)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--batch", type=int, default=None, help="jobs per claim (default: the worker's)")
    parser.add_argument("--postgres", default=PG_SERVER, help=f"PostgreSQL server URL (default {PG_SERVER}); "
                        f"the database {DBNAME} on it is dropped and created")
    parser.add_argument("--profile", action="store_true",
                        help="run the workers under cProfile and print where their time goes")
    return parser.parse_args()


def start_django(url):
    # Settings read the environment once, so it is set before Django starts.
    os.environ.update(environment(url))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def create_policy():
    from tocsin.catalog import services as catalog
    from tocsin.core import audit, services as core
    from tocsin.directory import services as directory
    from tocsin.escalation import services as escalation

    system = audit.Actor.system("bench")
    people = [directory.create_person(actor=system, source="cli", name=name) for name in ("Ada Primary", "Bo Second")]
    team = core.create_team(actor=system, name="Platform")
    service = catalog.create_service(actor=system, source="cli", name="Payments", kind="technical", owner_team=team,
                                     tier=2)
    policy = escalation.create_policy("Bench", {
        "tiers": [{"delay_minutes": 60, "targets": [{"type": "person", "id": p.pk} for p in people]}],
    }, actor=system)
    escalation.link_service(service, policy, actor=system)
    return service


def trigger(service, count):
    """Each incident leaves one escalation.step job due at once; no worker runs yet."""
    from django.db import transaction

    from tocsin.core import audit
    from tocsin.incidents import services as incidents

    system = audit.Actor.system("bench")
    started = time.perf_counter()
    for first in range(0, count, 500):
        with transaction.atomic():
            for n in range(first, min(count, first + 500)):
                incidents.trigger_incident(service, f"Bench incident {n}", actor=system)
        print(f"  triggered {min(count, first + 500):,} of {count:,}", end="\r", flush=True)
    elapsed = time.perf_counter() - started
    print(f"  triggered {count:,} incidents in {elapsed:.1f} s ({count / elapsed:.0f}/s)          ")


def step_counts():
    from django.db.models import Count

    from tocsin.engine.models import Job

    return dict(Job.objects.filter(kind="escalation.step").values_list("state").annotate(n=Count("pk")))


def due_steps():
    from django.utils import timezone

    from tocsin.engine.models import Job

    return Job.objects.filter(kind="escalation.step", state=Job.PENDING, due_at__lte=timezone.now()).count()


def run_workers(env, args, count):
    options = ("--batch", str(args.batch)) if args.batch else ()
    profiles = [WORKDIR / f"esc-worker-{n}.prof" for n in range(args.workers)]
    launched = time.perf_counter()
    workers = []
    for n in range(args.workers):
        prefix = (sys.executable, "-m", "cProfile", "-o", str(profiles[n])) if args.profile else ()
        workers.append(Worker(env, f"bench-escalation-{n}", *options, prefix=prefix))
    try:
        for worker in workers:
            worker.wait_running()
        while due_steps():
            time.sleep(0.2)
        wall = time.perf_counter() - launched
    finally:
        codes = [worker.stop() for worker in workers]
    return wall, codes, profiles


def engine_rate(count):
    from django.db.models import Max, Min

    from tocsin.engine.models import Job

    span = Job.objects.filter(kind="escalation.step", state=Job.DONE).aggregate(first=Min("finished_at"),
                                                                               last=Max("finished_at"))
    seconds = (span["last"] - span["first"]).total_seconds()
    return count / seconds if seconds else float("inf"), seconds


def check_outbox(count):
    from django.db.models import Count

    from tocsin.engine.models import Job
    from tocsin.escalation.models import NotificationRequest
    from tocsin.incidents.models import Incident, TimelineEntry

    requests = NotificationRequest.objects.count()
    wrong = (Incident.objects.annotate(n=Count("notification_requests")).exclude(n=2).count())
    escalated = TimelineEntry.objects.filter(kind=TimelineEntry.ESCALATED).count()
    dead = Job.objects.filter(state=Job.DEAD).count()
    print(f"  outbox: {requests:,} notification requests for {count:,} incidents (expected {2 * count:,}); "
          f"incidents without exactly 2: {wrong}; escalated timeline entries {escalated:,}; dead letters {dead}")
    return requests == 2 * count and wrong == 0 and escalated == count and dead == 0


def queries_per_step(service):
    """One more incident, stepped in this process, with every query it makes listed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from tocsin.core import audit
    from tocsin.engine.worker import Engine
    from tocsin.incidents import services as incidents

    incidents.trigger_incident(service, "Counted incident", actor=audit.Actor.system("bench"))
    with CaptureQueriesContext(connection) as captured:
        ran = Engine(name="bench-counter").run_due(timezone.now())
    print(f"\n  queries to claim, run and complete {ran} step, as a worker does: {len(captured)}")
    for query in captured.captured_queries:
        print(f"    {query['sql'][:150]}")


def print_profiles(paths):
    existing = [str(p) for p in paths if p.exists()]
    if not existing:
        print("  (no profile was written)")
        return
    stats = pstats.Stats(*existing)
    print("\n  worker profile, by cumulative time (top 35):")
    stats.sort_stats("cumulative").print_stats(35)
    print("\n  worker profile, by own time (top 25):")
    stats.sort_stats("tottime").print_stats(25)


def main():
    args = parse_args()
    WORKDIR.mkdir(parents=True, exist_ok=True)
    url = fresh_postgres(args.postgres, DBNAME)
    print(f"== escalation throughput: {args.incidents:,} incidents, one tier of 2 people, "
          f"{args.workers} worker processes, PostgreSQL {url}")
    start_django(url)
    service = create_policy()
    trigger(service, args.incidents)
    assert due_steps() == args.incidents, step_counts()
    from django.db import connections

    connections.close_all()
    wall, codes, profiles = run_workers(environment(url), args, args.incidents)
    rate, seconds = engine_rate(args.incidents)
    print(f"  {args.incidents:,} steps in {seconds:.2f} s between the first and the last: {rate:,.0f} steps/s "
          f"(target ≥ {TARGET_PER_SECOND:,}/s) → {'OK' if rate >= TARGET_PER_SECOND else 'MISSED'}")
    print(f"  wall time from launching the workers (start-up included): {wall:.2f} s "
          f"({args.incidents / wall:,.0f} steps/s); exit codes after SIGTERM {codes}")
    outbox_ok = check_outbox(args.incidents)
    queries_per_step(service)
    if args.profile:
        print_profiles(profiles)
    return 0 if outbox_ok and rate >= TARGET_PER_SECOND else 1


if __name__ == "__main__":
    sys.exit(main())
