"""Render time of an on-call iCal feed: one year (and a week back) of a daily rotation, rendered
from computed shifts and with the database loading, as the subscription URL does."""

import argparse
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, time as clock
from pathlib import Path

from in_process import start_django

TARGET_MS = 200


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--renders", type=int, default=20, help="timed renders per figure (default 20)")
    parser.add_argument("--people", type=int, default=7, help="participants of the daily rotation (default 7)")
    parser.add_argument("--zone", default="Europe/Berlin", help="the schedule's time zone (default Europe/Berlin)")
    return parser.parse_args()


def seed(people, zone):
    from tocsin.core import audit
    from tocsin.core.services import create_user
    from tocsin.directory import services as directory
    from tocsin.oncall import services

    actor = audit.Actor.system("bench")
    crew = [directory.create_person(actor=actor, source="cli", name=f"Engineer {i}") for i in range(people)]
    schedule = services.create_schedule(actor=actor, name="Network primary", time_zone=zone)
    services.add_layer(schedule, actor=actor, name="Daily", participants=crew, rotation="daily",
                       handoff_time=clock(9), start_date=date(2025, 1, 6))
    owner = create_user(actor=actor, username="bench")
    _, secret = services.create_feed(actor=actor, created_by=owner, schedule=schedule)
    return schedule, secret


def figures(label, samples, extra=""):
    samples = sorted(samples)
    p50 = statistics.median(samples)
    p95 = samples[min(len(samples) - 1, int(round(0.95 * len(samples))) - 1)]
    verdict = "ok" if p95 < TARGET_MS else "OVER"
    print(f"{label:<44} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   (target < {TARGET_MS} ms: {verdict}){extra}")


def main():
    args = parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        start_django(f"sqlite:///{Path(workdir) / 'bench.db'}", workdir)
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from tocsin.oncall import ical_export
        from tocsin.oncall.models import Schedule

        schedule, secret = seed(args.people, args.zone)
        now = datetime(2026, 3, 20, 10, 30, tzinfo=UTC)
        start, end = ical_export.window(now)
        found, names = ical_export.entries(Schedule.objects.filter(pk=schedule.pk), start, end)
        print(f"daily rotation, {args.people} people, zone {args.zone}: {len(found)} shifts "
              f"from {start:%Y-%m-%d} to {end:%Y-%m-%d}")

        ical_export.render("warm-up", found, names, now)
        renders = []
        for _ in range(args.renders):
            started = time.perf_counter()
            body = ical_export.render(f"{schedule.name} on call", found, names, now)
            renders.append((time.perf_counter() - started) * 1000)
        figures("render only (shifts already computed)", renders, f"   {len(body):,} bytes")

        loaded = []
        for _ in range(args.renders):
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                ical_export.schedule_calendar(Schedule.objects.get(pk=schedule.pk), now)
            loaded.append((time.perf_counter() - started) * 1000)
        figures("with database loading and the timeline", loaded, f"   {len(queries)} queries")

        client = Client(HTTP_HOST="127.0.0.1")
        url = f"/oncall/{schedule.slug}/calendar.ics"
        client.get(url, {"token": secret})
        served = []
        for _ in range(args.renders):
            started = time.perf_counter()
            response = client.get(url, {"token": secret})
            served.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        figures("the whole request (token lookup included)", served)


if __name__ == "__main__":
    main()
