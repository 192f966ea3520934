"""Who is on call across 1,000 schedules (3 layers x 10 participants each), cold and warm, and one schedule's year of shifts."""

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

from in_process import start_django

WARM_BUDGET_MS = 50
SHIFTS_BUDGET_MS = 20
ZONES = ["UTC", "Europe/Berlin", "America/Chicago", "Asia/Singapore", "America/New_York", "Australia/Sydney"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schedules", type=int, default=1000, help="schedules to create (default 1000)")
    parser.add_argument("--runs", type=int, default=100, help="timed warm runs (default 100)")
    parser.add_argument("--cold-runs", type=int, default=10, help="timed cold runs and years of shifts (default 10)")
    parser.add_argument("--seed", type=int, default=7, help="random seed for the instants asked (default 7)")
    parser.add_argument("--database-url", help="use this (empty) database instead of a temporary SQLite file")
    parser.add_argument("--profile", action="store_true", help="print where the warm run spends its time")
    return parser.parse_args()


def seed(count):
    """Bulk inserts, not the services: the bench measures reading, and 3,000 audited layers take minutes."""
    from django.db import transaction

    from tocsin.directory.models import Person
    from tocsin.oncall.models import Layer, Override, Participant, Schedule

    rng = random.Random(1)
    started = time.perf_counter()
    with transaction.atomic():
        people = Person.objects.bulk_create([Person(name=f"Person {i:05d}") for i in range(count * 4)], batch_size=2000)
        schedules = Schedule.objects.bulk_create(
            [Schedule(name=f"Schedule {i:04d}", slug=f"schedule-{i:04d}", time_zone=ZONES[i % len(ZONES)])
             for i in range(count)], batch_size=1000)
        layers = []
        for i, schedule in enumerate(schedules):
            start = date(2025, 1, 6) + timedelta(days=i % 7)
            layers += [
                Layer(schedule=schedule, name="Weekly primary", level=1, rotation=Layer.WEEKLY, handoff_time=clock(9),
                      start_date=start),
                Layer(schedule=schedule, name="Business hours", level=2, rotation=Layer.DAILY, handoff_time=clock(8),
                      start_date=start, restrictions=[{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}]),
                Layer(schedule=schedule, name="Twelve-hour pairs", level=3, rotation=Layer.CUSTOM, length=12,
                      unit=Layer.HOURS, handoff_time=clock(7), start_date=start, shift_size=2,
                      restrictions=[{"days": [5, 6], "start": "07:00", "end": "19:00"}]),
            ]
        layers = Layer.objects.bulk_create(layers, batch_size=1000)
        slots = []
        for layer in layers:
            for position, person in enumerate(rng.sample(people, 10)):
                slots.append(Participant(layer=layer, position=position, person=person))
        Participant.objects.bulk_create(slots, batch_size=5000)
        overrides = []
        for schedule in schedules:
            begin = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=rng.randrange(24 * 365))
            overrides.append(Override(schedule=schedule, person=rng.choice(people), starts_at=begin,
                                      ends_at=begin + timedelta(hours=rng.randrange(2, 48))))
        Override.objects.bulk_create(overrides, batch_size=1000)
    print(f"seeded {count} schedules, {len(layers)} layers, {len(slots)} participants, {len(overrides)} overrides "
          f"in {time.perf_counter() - started:.1f} s")
    return schedules


def percentiles(timings):
    timings = sorted(timings)
    p95 = timings[min(len(timings) - 1, int(round(0.95 * len(timings))) - 1)]
    return statistics.median(timings), p95, timings[-1]


def random_instant(rng, start, days=365):
    return start + timedelta(seconds=rng.randrange(days * 86400))


def cold(runs, rng, start):
    """load_plans from the database and compute, a new random instant each run."""
    from tocsin.oncall import timeline
    from tocsin.oncall.loading import load_plans
    from tocsin.oncall.models import Schedule

    timings, answered = [], 0
    for _ in range(runs):
        instant = random_instant(rng, start)
        began = time.perf_counter()
        plans, people = load_plans(Schedule.objects.all(), instant, instant)
        answered = sum(bool(timeline.oncall_at(plan, instant, people)) for plan in plans.values())
        timings.append((time.perf_counter() - began) * 1000)
    return timings, answered


def cold_selector(runs, rng, start):
    """selectors.oncall_everywhere: the same plus loading the Person and OrgRole rows."""
    from tocsin.oncall import selectors

    timings = []
    for _ in range(runs):
        instant = random_instant(rng, start)
        began = time.perf_counter()
        selectors.oncall_everywhere(instant)
        timings.append((time.perf_counter() - began) * 1000)
    return timings


def warm(runs, rng, start, profile=False):
    """Plans loaded once for a year; each run asks every schedule at one random instant in it."""
    from tocsin.oncall import timeline
    from tocsin.oncall.loading import load_plans
    from tocsin.oncall.models import Schedule

    plans, people = load_plans(Schedule.objects.all(), start, start + timedelta(days=365))
    compiled = list(plans.values())

    def ask(instant):
        return [timeline.oncall_at(plan, instant, people) for plan in compiled]

    ask(random_instant(rng, start))  # the first call warms the zone and wall-clock caches of one instant only
    timings = []
    for _ in range(runs):
        instant = random_instant(rng, start)
        began = time.perf_counter()
        ask(instant)
        timings.append((time.perf_counter() - began) * 1000)
    report = None
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(5):
            ask(random_instant(rng, start))
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
        report = out.getvalue()
    return timings, report


def year_of_shifts(runs, rng, start, schedule):
    from tocsin.oncall import selectors, timeline
    from tocsin.oncall.loading import load_plans
    from tocsin.oncall.models import Schedule

    with_loading, pure, counts = [], [], set()
    for _ in range(runs):
        begin = random_instant(rng, start, days=30)
        end = begin + timedelta(days=365)
        began = time.perf_counter()
        found, gaps = selectors.shifts(schedule, begin, end)
        with_loading.append((time.perf_counter() - began) * 1000)
        counts.add(len(found))
        plans, people = load_plans(Schedule.objects.filter(pk=schedule.pk), begin, end)
        began = time.perf_counter()
        timeline.timeline(plans[schedule.pk], begin, end, people)
        pure.append((time.perf_counter() - began) * 1000)
    return with_loading, pure, counts


def line(label, timings, budget=None):
    p50, p95, worst = percentiles(timings)
    target = f"   (budget {budget} ms)" if budget else ""
    print(f"{label:<58} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   max {worst:7.1f} ms{target}")
    return p95


def main():
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-") as workdir:
        url = args.database_url or f"sqlite:///{Path(workdir) / 'bench.db'}"
        start_django(url, workdir)
        schedules = seed(args.schedules)
        rng = random.Random(args.seed)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        cold_times, answered = cold(args.cold_runs, rng, start)
        selector_times = cold_selector(args.cold_runs, rng, start)
        warm_times, profile = warm(args.runs, rng, start, args.profile)
        with_loading, pure, counts = year_of_shifts(max(args.cold_runs, 20), rng, start, schedules[0])
    n = args.schedules
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"who is on call across {n} schedules at random instants in 2026 ({answered} of {n} answered someone):")
    line("  cold: load_plans + timeline.oncall_at", cold_times)
    line("  cold: selectors.oncall_everywhere (people rows too)", selector_times)
    warm_p95 = line("  warm: timeline.oncall_at over the compiled plans", warm_times, WARM_BUDGET_MS)
    print(f"one schedule's shifts over a year ({', '.join(map(str, sorted(counts)))} shifts):")
    shifts_p95 = line("  selectors.shifts (loading included)", with_loading, SHIFTS_BUDGET_MS)
    line("  timeline.timeline over the compiled plan", pure)
    if profile:
        print("where the warm run spends its time (5 runs):")
        print(profile)
    missed = [name for name, p95, budget in [("warm", warm_p95, WARM_BUDGET_MS), ("shifts", shifts_p95, SHIFTS_BUDGET_MS)]
              if p95 >= budget]
    if missed:
        print(f"over budget at p95: {', '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
