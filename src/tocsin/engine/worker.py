"""The engine loop: claim what is due, run it, then sleep until the next due job or a wake-up."""

import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from . import queue, runner, signals
from .doorbell import Doorbell
from .listener import Listener
from .locks import SqliteEngineLock
from .watchdog import Watchdog

log = logging.getLogger("tocsin.engine")
LEASE = timedelta(seconds=30)
BATCH = 32
MAX_SLEEP_SECONDS = 30.0
POLL_WITHOUT_DOORBELL_SECONDS = 1.0
# Something is due yet nothing could be claimed (still locked by a worker whose lease ran out, or
# it fell due a moment ago): look again shortly rather than spin on claim queries.
BUSY_PAUSE_SECONDS = 0.02


def worker_name():
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Engine:
    """One engine per process. `run(stop)` blocks until `stop` is set; tests drive `run_due(now)`."""

    def __init__(self, *, name=None, lease=LEASE, batch=BATCH, clock=timezone.now, watchdog_url=None):
        self.name = name or worker_name()
        self.lease = lease
        self.batch = batch
        self.clock = clock
        self.watchdog_url = watchdog_url if watchdog_url is not None else settings.TOCSIN_WATCHDOG_URL
        self._wake = threading.Event()
        self._stop = threading.Event()
        # Set while the loop waits for the next due job, holding no database connection busy.
        self.idle = threading.Event()
        self.last_round = time.monotonic()
        self.max_sleep = MAX_SLEEP_SECONDS

    def wake(self):
        self._wake.set()

    def run_due(self, now=None):
        """Run every job due at `now`; returns how many ran (done, retried or dead)."""
        total = 0
        while not self._stop.is_set():
            jobs = runner.claim(self.name, now or self.clock(), self.lease, self.batch)
            if not jobs:
                return total
            left, outcomes = runner.run_claimed(jobs, self.name, now or self.clock, stopping=self._stop.is_set)
            if left:
                runner.release(left, self.name)
            total += len(outcomes)
        return total

    def _seconds_to_sleep(self):
        upcoming = runner.next_wake(self.clock())
        if upcoming is None:
            return self.max_sleep
        remaining = (upcoming - self.clock()).total_seconds()
        return BUSY_PAUSE_SECONDS if remaining <= 0 else min(self.max_sleep, remaining)

    def run(self, stop: threading.Event, on_start=lambda: None):
        """Until `stop` is set. On SQLite, refuses (EngineLocked) if another engine runs;
        `on_start()` is called once the engine may run."""
        lock = SqliteEngineLock() if connection.vendor == "sqlite" else None
        if lock:
            lock.acquire()
        for receiver, failure in signals.engine_starting.send_robust(sender=Engine, name=self.name):
            if failure is not None:  # what it would have started starts when first needed
                log.error("an app could not prepare for the engine: %r", failure, extra={"worker": self.name})
        on_start()
        self._stop = stop
        helpers = threading.Event()
        queue.add_waker(self.wake)
        try:
            if connection.vendor == "postgresql":
                Listener(self.wake, helpers).start()
            elif not Doorbell(self.wake, helpers).start():
                self.max_sleep = POLL_WITHOUT_DOORBELL_SECONDS
            if self.watchdog_url:
                Watchdog(self.watchdog_url, self.alive, helpers).start()
            stop_watch = threading.Thread(target=lambda: (stop.wait(), self.wake()), daemon=True)
            stop_watch.start()
            log.info("engine started", extra={"worker": self.name})
            self._loop(stop)
        finally:
            helpers.set()
            queue.remove_waker(self.wake)
            connections.close_all()
            if lock:
                lock.release()
            log.info("engine stopped", extra={"worker": self.name})

    def _loop(self, stop):
        started = False
        pause = 0.1
        while not stop.is_set():
            self.last_round = time.monotonic()
            self._wake.clear()
            try:
                if not started:
                    runner.ensure_periodic(self.clock())
                    started = True
                self.run_due()
                sleep = self._seconds_to_sleep()
                pause = 0.1
            except Exception:
                # Typically the database going away; the jobs stay leased or pending and are retried.
                log.exception("engine round failed; retrying")
                connections.close_all()
                sleep = pause
                pause = min(5.0, pause * 2)
            if sleep > 0:
                if not self._wake.is_set():  # (this round's own scheduling may have rung already)
                    self.idle.set()
                self._wake.wait(sleep)
                self.idle.clear()

    def alive(self):
        return time.monotonic() - self.last_round < MAX_SLEEP_SECONDS * 2 + self.lease.total_seconds()
