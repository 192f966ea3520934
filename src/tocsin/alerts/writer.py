"""The group-commit writer: concurrent ingestion requests share one transaction.

Requests hand their events to one writer thread per process and wait. The thread takes whatever
has queued up (a request that arrives while a commit runs joins the next one; under concurrent
load it lingers half a millisecond for requests still being parsed), writes it all in one
transaction and then answers every waiting request. A request is answered 202 only after its
commit, so an accepted event is durable:
- on PostgreSQL, as durable as the server's `synchronous_commit` (on by default: flushed to WAL);
- on SQLite, in WAL mode with `synchronous=FULL` (the default, TOCSIN_SQLITE_SYNCHRONOUS): the WAL
  is synced at every commit, so an accepted event survives a power cut. Group commit is what makes
  that affordable: one sync serves every request of the batch. With `NORMAL`, a power cut may lose
  the last commits (never corrupting the database); a crash of Tocsin alone loses nothing.

If a shared commit fails, each request's events are retried in a transaction of their own, so
one bad request never fails the others.

On SQLite the thread waits for the write lock on its own terms: SQLite's busy handler sleeps in
steps growing to 100 ms, so a writer that finds the engine's transaction in progress would sleep
long after the lock is free; the writer's connection fails at once instead, and tries again
after pauses of 0.2 ms growing to 2 ms (for as long as the configured busy timeout).

The thread keeps its database connection between commits (opening one costs more than a commit,
and closing the last SQLite connection checkpoints the WAL); it drops it after an error, and once
nothing has come for a moment, so that an idle process holds no database session.
Answers go back to each event loop in one wake-up per commit, not one per request."""

import asyncio
import logging
import queue as stdlib_queue
import threading
import time

from django.db import OperationalError, connection, transaction
from django.utils import timezone

from .store import store_events

log = logging.getLogger("tocsin.alerts")
MAX_EVENTS_PER_COMMIT = 5000
LOCK_RETRY_SECONDS = (0.0002, 0.002)  # first and longest pause between tries for the SQLite write lock
# Measured on the 2-core dev machine, 16 connections: 0.5 ms took a commit from ~5 to ~12 events
# and raised throughput by about a quarter; 2 ms was slower again (requests wait for nothing).
LINGER_SECONDS = 0.0005
IDLE_SECONDS = 0.2  # with nothing to write for this long, the connection is closed


class WriteFailed(RuntimeError):
    """The events could not be stored; nothing of them was kept."""


class GroupCommitWriter:
    def __init__(self, clock=timezone.now):
        self.clock = clock
        self._submissions = stdlib_queue.SimpleQueue()
        self._thread = None
        self._lock = threading.Lock()
        self.commits = 0  # for the benchmark's figures
        self._last_batch = 0

    async def write(self, events):
        """Store `events` durably, sharing the commit with whatever else is waiting."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._ensure_thread()
        self._submissions.put((events, done, loop))
        await done

    def _ensure_thread(self):
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="alerts-writer", daemon=True)
                    self._thread.start()

    def _run(self):
        while True:
            try:
                first = self._submissions.get(timeout=IDLE_SECONDS)
            except stdlib_queue.Empty:
                _close_quietly()
                self._last_batch = 0
                first = self._submissions.get()
            batch = [first]
            count = len(first[0])
            # Under concurrent load (the last commit served several requests) wait a moment for the
            # requests being parsed right now: one fuller commit beats several small ones.
            linger_until = time.monotonic() + LINGER_SECONDS if self._last_batch > 1 else 0
            while count < MAX_EVENTS_PER_COMMIT:
                try:
                    item = self._submissions.get_nowait()
                except stdlib_queue.Empty:
                    wait = linger_until - time.monotonic()
                    if wait <= 0:
                        break
                    try:
                        item = self._submissions.get(timeout=wait)
                    except stdlib_queue.Empty:
                        break
                batch.append(item)
                count += len(item[0])
            self._last_batch = len(batch)
            self._commit(batch)

    def _commit(self, batch):
        try:
            self._store([event for events, _, _ in batch for event in events])
        except Exception as exc:
            if len(batch) == 1 or _locked(exc):  # no lock for the batch: none for its parts either
                log.exception("storing ingested events failed")
                self._answer(batch, WriteFailed("the events could not be stored; try again"))
                return
            for submission in batch:
                self._commit([submission])
            return
        self._answer(batch, None)

    def _store(self, events):
        patience, pause = None, LOCK_RETRY_SECONDS[0]
        while True:
            try:
                self._connect()
                with transaction.atomic():
                    store_events(events, self.clock())
                self.commits += 1
                return
            except OperationalError as exc:
                if not _locked(exc):
                    connection.close()  # perhaps the database went away: reconnect next time
                    raise
                patience = patience or time.monotonic() + connection.settings_dict["OPTIONS"].get("timeout", 5)
                if time.monotonic() > patience:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, LOCK_RETRY_SECONDS[1])
            except Exception:
                connection.close()
                raise

    @staticmethod
    def _connect():
        if connection.connection is None:
            connection.ensure_connection()
            if connection.vendor == "sqlite":
                connection.connection.execute("PRAGMA busy_timeout = 0")  # see the module docstring

    @staticmethod
    def _answer(batch, error):
        per_loop = {}
        for _, done, loop in batch:
            per_loop.setdefault(loop, []).append(done)
        for loop, futures in per_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, futures, error)
            except RuntimeError:
                pass  # that event loop is closed: nobody is waiting there any more


def _close_quietly():
    try:
        connection.close()
    except Exception:
        log.warning("closing the idle ingestion connection failed", exc_info=True)


def _locked(error):
    return connection.vendor == "sqlite" and "database is locked" in str(error)


def _settle(futures, error):
    for done in futures:
        if done.cancelled():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)


writer = GroupCommitWriter()
