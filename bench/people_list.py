"""Render time and query count of the people list (/directory/people/) over 10,000 people."""

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from in_process import start_django

TARGET_P95_MS = 150


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10_000, help="people to create (default 10000)")
    parser.add_argument("--renders", type=int, default=200, help="timed page renders (default 200)")
    parser.add_argument("--seed", type=int, default=7, help="random seed for the pages chosen (default 7)")
    parser.add_argument("--keep", metavar="PATH", help="write the database here and keep it, instead of a temporary file")
    return parser.parse_args()


def seed(count):
    """Bulk inserts, not the services: the bench measures reading, and 10,000 audited creates take minutes."""
    from django.db import transaction

    from tocsin.core import audit, services
    from tocsin.directory.models import ContactMethod, Person, Site
    from tocsin.directory.values import index_for, normalise

    actor = audit.Actor.system("bench")
    rng = random.Random(1)
    teams = [services.create_team(actor=actor, name=name) for name in ("Network", "Database", "Service Desk", "Security", "Facilities")]
    sites = Site.objects.bulk_create([
        Site(name="Berlin", slug="berlin", time_zone="Europe/Berlin"),
        Site(name="Lisbon", slug="lisbon", time_zone="Europe/Lisbon"),
        Site(name="Chicago", slug="chicago", time_zone="America/Chicago"),
    ])
    tags = ["bgp", "postgres", "linux", "windows", "storage", "dns", "firewall", "vmware"]
    started = time.perf_counter()
    with transaction.atomic():
        people = Person.objects.bulk_create(
            [
                Person(
                    name=f"Person {i:05d}", site=sites[i % len(sites)], time_zone=sites[i % len(sites)].time_zone,
                    tags=sorted(rng.sample(tags, rng.randint(0, 3))),
                )
                for i in range(count)
            ],
            batch_size=1000,
        )
        through = Person.teams.through
        links = [through(person=p, team=teams[i % len(teams)]) for i, p in enumerate(people)]
        links += [through(person=p, team=teams[(i + 1) % len(teams)]) for i, p in enumerate(people) if i % 4 == 0]
        through.objects.bulk_create(links, batch_size=2000)
        methods = []
        for i, person in enumerate(people):
            raws = [("sms", f"+49 170 {1000000 + i}"), ("email", f"person{i}@example.org")]
            if i % 3 == 0:
                raws.append(("voice", f"+1 312 555 {i % 10000:04d}"))
            for order, (kind, raw) in enumerate(raws):
                value = normalise(kind, raw)
                methods.append(ContactMethod(person=person, kind=kind, value=value, value_index=index_for(kind, value), order=order))
        ContactMethod.objects.bulk_create(methods, batch_size=2000)  # the field encrypts each value
    print(f"seeded {count} people and {len(methods)} methods in {time.perf_counter() - started:.1f} s")
    admin = services.create_user(actor=actor, username="bench-admin", password="bench-password-123")
    services.assign_role(admin, "admin", actor=actor)
    return admin


def measure(admin, renders, rng):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tocsin.directory.models import Person

    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)
    pages = max(1, -(-Person.objects.filter(is_active=True).count() // 50))
    for _ in range(5):  # warm caches and the connection
        client.get("/directory/people/")
    timings, queries = [], set()
    for _ in range(renders):
        page = rng.randint(1, pages)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(f"/directory/people/?page={page}")
            elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200 or b"Person " not in response.content:
            sys.exit(f"page {page} answered {response.status_code}")
        timings.append(elapsed)
        queries.add(len(captured))
    return pages, timings, queries


def main():
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-") as workdir:
        db_path = Path(args.keep).resolve() if args.keep else Path(workdir) / "bench.db"
        if db_path.exists():
            sys.exit(f"{db_path} exists; the bench starts from a fresh database")
        start_django(f"sqlite:///{db_path}", workdir)
        admin = seed(args.people)
        pages, timings, queries = measure(admin, args.renders, random.Random(args.seed))
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[min(len(timings) - 1, int(round(0.95 * len(timings))) - 1)]
    print(f"GET /directory/people/?page=N over {pages} pages, {len(timings)} renders")
    print(f"p50 {p50:.1f} ms   p95 {p95:.1f} ms   max {timings[-1]:.1f} ms   (target p95 < {TARGET_P95_MS} ms)")
    print(f"queries per page: {', '.join(map(str, sorted(queries)))}")
    if p95 >= TARGET_P95_MS:
        print("p95 is above the target")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
