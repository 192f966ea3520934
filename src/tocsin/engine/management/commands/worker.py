"""`tocsin worker`: the engine alone, until SIGINT or SIGTERM."""

import signal
import sys
import threading
from argparse import ArgumentTypeError
from datetime import timedelta

from django.db import connections

from tocsin.core.management.base import TocsinCommand
from tocsin.engine.locks import EngineLocked
from tocsin.engine.worker import BATCH, LEASE, Engine


class Command(TocsinCommand):
    help = (
        "Run the engine alone (escalation timers, retries, periodic jobs). On PostgreSQL several "
        "workers share the work; on SQLite exactly one engine may run."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--name", default=None, help="Worker name shown in job leases (default host:pid).")
        parser.add_argument(
            "--lease-seconds", type=_lease_seconds, default=LEASE.total_seconds(),
            help=f"How long a claimed job stays ours before another worker may retake it; it bounds how "
                 f"late a dead worker's jobs run (default {LEASE.total_seconds():.0f}).")
        parser.add_argument("--batch", type=_batch_size, default=BATCH,
                            help=f"Jobs claimed at once; due escalation steps among them run together (default {BATCH}).")

    def handle(self, *args, name, lease_seconds, batch, **options):
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        engine = Engine(name=name, lease=timedelta(seconds=lease_seconds), batch=batch)

        def started():
            self.stdout.write(f"Tocsin engine {engine.name} is running; stop it with Ctrl-C or SIGTERM.")
            self.stdout.flush()

        try:
            engine.run(stop, on_start=started)
        except EngineLocked as exc:
            self.stderr.write(f"tocsin worker: {exc}")
            sys.exit(2)
        finally:
            connections.close_all()


def _lease_seconds(text):
    try:
        value = float(text)
    except ValueError:
        raise ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0 < value <= 3600:
        raise ArgumentTypeError("must be more than 0 and at most 3600")
    return value


def _batch_size(text):
    try:
        value = int(text)
    except ValueError:
        raise ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not 1 <= value <= 10_000:
        raise ArgumentTypeError("must be between 1 and 10000")
    return value
