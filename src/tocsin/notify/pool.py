"""The sending pool: one background thread per process runs an asyncio loop in which every send is
its own task, so a provider that hangs holds up only its own messages. Answers are written back by
a recorder thread, many per transaction, and the engine's sending job never waits for the network.

If the process dies with sends in flight, their attempts stay `sending` until their lease ends;
the next sending run takes them again (at-least-once, DESIGN: delivery guarantee)."""

import asyncio
import logging
import queue as stdlib_queue
import threading
import time
from datetime import timedelta

import httpx
from django.db import OperationalError, connection

from . import journal
from .providers.base import FAILED, TIMEOUT, Outcome
from .throttle import Gates

log = logging.getLogger("tocsin.notify")
SEND_TIMEOUT = 20  # seconds for one send through one provider, retries of the HTTP client included
RECORD_AT_ONCE = 500
RECORD_LINGER = 0.02  # seconds the recorder waits for more answers while sends are still out
MAX_IN_FLIGHT = 256


class Sending:
    """One message on its way: the attempt's id and the lease it was claimed with, the message,
    and the providers to try in order."""

    def __init__(self, attempt_id, lease, message, candidates, limits, claimed_at, carries=False):
        self.carries = carries  # whether the message carries other attempts too (a bundle)
        self.attempt_id, self.lease, self.message = attempt_id, lease, message
        self.candidates, self.limits = candidates, limits
        self.claimed_at, self.started = claimed_at, time.monotonic()

    def now(self):
        """The claim's instant plus the time since: the engine's clock, carried on."""
        return self.claimed_at + timedelta(seconds=time.monotonic() - self.started)

    @property
    def timeout(self):
        """One provider's time to answer: at most half the lease, so a send started in time ends in it."""
        return min(SEND_TIMEOUT, (self.lease - self.claimed_at).total_seconds() / 2)

    def may_start(self):
        """Whether a send begun now still ends within the lease (it may have waited for a rate
        limit); past that point the attempt is left to the run that takes it again."""
        return self.now() + timedelta(seconds=self.timeout) < self.lease


class Answer:
    def __init__(self, sending, outcome, provider, failover_from, latency_ms, lapsed=False):
        self.sending, self.outcome, self.provider = sending, outcome, provider
        self.failover_from, self.latency_ms = failover_from, latency_ms
        self.lapsed = lapsed  # not sent: its lease ran out first (not recorded; taken again)


class Pool:
    def __init__(self):
        self._lock = threading.Lock()
        self._loop = None
        self._answers = stdlib_queue.SimpleQueue()
        self._busy = 0
        self._in_flight = set()  # attempt ids submitted and not yet recorded
        self._unrecorded = False  # some answers never reached the database: keep the journal
        self._idle = threading.Condition()
        self.record = None  # set by the jobs module: record(list of Answer)

    # -- the loop thread ------------------------------------------------------------------
    def _start(self):
        with self._lock:
            if self._loop is not None:
                return
            ready = threading.Event()
            threading.Thread(target=self._run_loop, args=(ready,), name="notify-sending", daemon=True).start()
            threading.Thread(target=self._run_recorder, name="notify-recorder", daemon=True).start()
            ready.wait()

    def _run_loop(self, ready):
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._client = httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)
        self._gates = Gates()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        ready.set()
        loop.run_forever()

    def submit(self, sendings):
        if not sendings:
            return
        self._start()
        with self._idle:
            self._busy += len(sendings)
            self._in_flight.update(s.attempt_id for s in sendings)
        for sending in sendings:
            asyncio.run_coroutine_threadsafe(self._send(sending), self._loop)

    async def _send(self, sending):
        try:
            async with self._slots:
                answer = await self._try_providers(sending)
            if answer.outcome.status != FAILED:  # noted at once: see journal
                journal.accepted(journal.key(sending.attempt_id, sending.message.key, sending.lease),
                                 answer.provider, answer.outcome.provider_message_id, answer.outcome.status)
        except Exception as exc:  # a provider's bug must not lose the attempt
            log.exception("sending failed unexpectedly")
            answer = Answer(sending, Outcome(FAILED, error=f"internal error: {type(exc).__name__}", transient=True),
                            "", "", None)
        self._answers.put(answer)

    async def _try_providers(self, sending):
        """Each candidate in turn until one takes the message (failover); the last answer counts."""
        if not sending.candidates:
            return Answer(sending, Outcome(FAILED, error=f"no provider is configured for {sending.message.channel}"),
                          "", "", None)
        failed_first, answer = "", None
        for provider in sending.candidates:
            per_minute, concurrent = sending.limits.get(provider.config.name, (0, 0))
            started = time.monotonic()
            try:
                async with self._gates.of(provider.config.name, per_minute, concurrent):
                    if not sending.may_start():
                        return Answer(sending, Outcome(FAILED, error="lease lapsed"), "", "", None, lapsed=True)
                    started = time.monotonic()
                    outcome = await asyncio.wait_for(provider.send(sending.message, self._client), sending.timeout)
            except TimeoutError:
                outcome = Outcome(FAILED, error=f"no answer within {sending.timeout:g} s", transient=True)
            except httpx.HTTPError as exc:
                outcome = Outcome(FAILED, error=f"{type(exc).__name__}: {exc}"[:300], transient=True)
            latency = int((time.monotonic() - started) * 1000)
            answer = Answer(sending, outcome, provider.config.name, failed_first, latency)
            if outcome.status != FAILED:
                return answer
            failed_first = failed_first or provider.config.name
        if answer.provider == failed_first:
            answer.failover_from = ""
        return answer

    # -- the recorder thread --------------------------------------------------------------
    def _run_recorder(self):
        while True:
            batch = [self._answers.get()]
            # More answers are due while sends are out: a moment's wait makes one transaction of many.
            until = time.monotonic() + (RECORD_LINGER if self._busy > 1 else 0)
            while len(batch) < RECORD_AT_ONCE:
                try:
                    batch.append(self._answers.get(timeout=max(0.0, until - time.monotonic())))
                except stdlib_queue.Empty:
                    break
            recorded = self._record([answer for answer in batch if not answer.lapsed])
            if self._busy <= len(batch):
                connection.close()  # idle: kept only through a burst
            with self._idle:
                self._busy -= len(batch)
                self._in_flight.difference_update(answer.sending.attempt_id for answer in batch)
                self._unrecorded = self._unrecorded or not recorded
                if not self._busy and not self._unrecorded:
                    journal.clear()  # all it holds is in the database now
                self._idle.notify_all()

    def _record(self, batch):
        """Whether the answers reached the database. If not, the journal keeps them, so the run
        that takes the attempts again after their lease records them instead of sending again."""
        for pause in (0.01, 0.05, 0.2, 0.5, 1, 2, 5):
            try:
                # The recorder keeps its connection through a burst (opening one per batch cost
                # as much as the batch); one that broke is closed below and opened afresh.
                self.record(batch)
                return True
            except OperationalError:
                log.warning("recording send results failed; retrying", exc_info=True)
                connection.close()
                time.sleep(pause)
            except Exception:
                log.exception("recording send results failed; the journal keeps what was sent")
                connection.close()
                return False
        log.error("recording send results kept failing; the journal keeps what was sent")
        return False

    def in_flight(self):
        """Attempt ids this process is sending or recording right now: never taken again here."""
        with self._idle:
            return set(self._in_flight)

    def wait_idle(self, timeout=30):
        """Until every submitted send has been answered and recorded (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True


pool = Pool()
