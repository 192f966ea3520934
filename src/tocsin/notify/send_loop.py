"""Where sends run: an asyncio loop in a thread of its own, in which every send is its own task,
so a provider that hangs holds up only its own messages. It runs in the engine's process or in
the sending process (send_process.py); either way each answer is handed to `answered`."""

import asyncio
import logging
import threading
import time
from datetime import timedelta

import httpx

from . import journal
from .providers.base import FAILED, TIMEOUT, Outcome
from .throttle import Gates

log = logging.getLogger("tocsin.notify")
SEND_TIMEOUT = 20  # seconds for one send through one provider, retries of the HTTP client included
MAX_IN_FLIGHT = 256


class Sending:
    """One message on its way: the attempt's id and the lease it was claimed with, the message,
    and the providers to try in order."""

    def __init__(self, attempt_id, lease, message, candidates, limits, claimed_at, carries=False):
        self.carries = carries  # whether the message carries other attempts too (a bundle)
        self.attempt_id, self.lease, self.message = attempt_id, lease, message
        self.candidates, self.limits = candidates, limits
        self.claimed_at, self.started = claimed_at, time.monotonic()  # monotonic: one clock per host

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

    def receipt(self):
        """What the recorder needs of it: no message, no providers (lighter to pass back)."""
        bare = Sending(self.attempt_id, self.lease, None, (), {}, self.claimed_at, self.carries)
        bare.started = self.started
        return bare


class Answer:
    def __init__(self, sending, outcome, provider, failover_from, latency_ms, lapsed=False):
        self.sending, self.outcome, self.provider = sending, outcome, provider
        self.failover_from, self.latency_ms = failover_from, latency_ms
        self.lapsed = lapsed  # not sent: its lease ran out first (not recorded; taken again)


class SendLoop:
    def __init__(self, answered):
        self.answered = answered  # called with each Answer, on the loop's thread
        self._lock = threading.Lock()
        self._loop = None

    def start(self):
        with self._lock:
            if self._loop is not None:
                return
            ready = threading.Event()
            threading.Thread(target=self._run, args=(ready,), name="notify-sending", daemon=True).start()
            ready.wait()

    def _run(self, ready):
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._client = httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)
        self._gates = Gates()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._loop = loop
        ready.set()
        loop.run_forever()

    def submit(self, sendings):
        self.start()
        self._loop.call_soon_threadsafe(self._start_all, sendings)

    def _start_all(self, sendings):
        for sending in sendings:
            self._loop.create_task(self._send(sending))

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
        self.answered(answer)

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
