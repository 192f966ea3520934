"""Seconds and people/s of an HR CSV import (plan + apply) of N people into a fresh SQLite file database;
then a re-import of the same file (nothing to change) and one with 10% changed, 1% gone."""

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
TARGET_SECONDS = 60
TEAMS = ["network", "storage", "database", "service-desk", "security"]
ZONES = ["Europe/Berlin", "Europe/Lisbon", "America/New_York", "Asia/Tokyo"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10_000, help="rows in the file (default 10000)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser.parse_args()


def write_csv(path, people, *, changed=0.0, gone=0.0, seed=7):
    rng = random.Random(seed)
    lines = ["external_id,name,email,mobile,phone,team,site,time_zone,active\n"]
    for n in range(people):
        if rng.random() < gone:
            continue
        name = f"Person {n:05d}" + (" Jr" if rng.random() < changed else "")
        teams = ";".join(sorted({TEAMS[n % len(TEAMS)], TEAMS[(n * 7) % len(TEAMS)]}))
        mobile = f"+49 170 {1000000 + n}"
        phone = f"+49 30 {2000000 + n}" if n % 3 == 0 else ""
        lines.append(f"E{n:05d},{name},person{n}@example.org,{mobile},{phone},{teams},hq,{ZONES[n % len(ZONES)]},true\n")
    path.write_text("".join(lines), encoding="utf-8")
    return len(lines) - 1


def main():
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    os.environ["TOCSIN_DATABASE_URL"] = f"sqlite:///{tmp / 'tocsin.db'}"
    os.environ["TOCSIN_AUDIT_ANCHOR_FILE"] = str(tmp / "audit.anchors")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from tocsin.core import audit, services
    from tocsin.directory.models import Site
    from tocsin.directory.services import hr_import

    try:
        call_command("migrate", verbosity=0)
        actor = audit.Actor.system("bench")
        for slug in TEAMS:
            services.create_team(actor=actor, name=slug.replace("-", " ").title())
        Site.objects.create(name="Headquarters", slug="hq")
        synchronous = os.environ.get("TOCSIN_SQLITE_SYNCHRONOUS", "FULL").upper()
        print(f"HR import of {args.people} people, SQLite file database (synchronous={synchronous}), "
              f"cores={os.cpu_count()}")
        print(f"{'run':<28} {'rows':>6} {'seconds':>8} {'people/s':>9}  counts")
        results = []
        for label, kwargs in [
            ("first import (all new)", {}),
            ("same file again", {}),
            ("10% changed, 1% gone", {"changed": 0.1, "gone": 0.01}),
        ]:
            path = tmp / f"people-{len(results)}.csv"
            rows = write_csv(path, args.people, **kwargs)
            started = time.perf_counter()
            run, _ = hr_import.import_file(path, actor=actor, allow_mass_deactivation=True)
            seconds = time.perf_counter() - started
            results.append(seconds)
            counts = ", ".join(f"{k} {v}" for k, v in run.counts.items() if v and k != "rows")
            print(f"{label:<28} {rows:>6} {seconds:>8.2f} {rows / seconds:>9.0f}  {counts}")
        verdict = "within" if results[0] < TARGET_SECONDS else "OVER"
        print(f"first import {results[0]:.1f} s: {verdict} the {TARGET_SECONDS} s target")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
