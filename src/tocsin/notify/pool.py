"""The sending pool: the engine's sending runs hand it messages and never wait for the network.
The sends run in an asyncio loop (send_loop.py), by default in a sending process of their own
(send_process.py, TOCSIN_SEND_PROCESS) so that they use another core than the engine; answers are
written back by a recorder thread here, many per transaction.

If the process dies with sends in flight, their attempts stay `sending` until their lease ends;
the next sending run takes them again (at-least-once, DESIGN: delivery guarantee)."""

import logging
import queue as stdlib_queue
import threading
import time

from django.conf import settings
from django.db import OperationalError, connection

from . import journal
from .send_loop import SendLoop

log = logging.getLogger("tocsin.notify")
RECORD_AT_ONCE = 500
RECORD_LINGER = 0.05  # seconds the recorder waits for more answers while sends are still out


class Pool:
    def __init__(self):
        self._lock = threading.Lock()
        self._sender = None
        self._answers = stdlib_queue.SimpleQueue()
        self._busy = 0
        self._in_flight = set()  # attempt ids submitted and not yet recorded
        self._unrecorded = False  # some answers never reached the database: keep the journal
        self._idle = threading.Condition()
        self.record = None  # set by the jobs module: record(list of Answer)

    def start(self):
        """The sender and the recorder, if they are not running yet (the engine starts them as it
        starts, so that the first page does not wait for a process to start)."""
        with self._lock:
            if self._sender is not None:
                return self._sender
            if settings.TOCSIN_SEND_PROCESS:
                from .send_process import SendProcess

                sender = SendProcess(self._answers.put, self._lost)
            else:
                sender = SendLoop(self._answers.put)
            sender.start()
            threading.Thread(target=self._run_recorder, name="notify-recorder", daemon=True).start()
            self._sender = sender
            return sender

    def submit(self, sendings):
        if not sendings:
            return
        with self._idle:
            self._busy += len(sendings)
            self._in_flight.update(s.attempt_id for s in sendings)
        try:
            self.start().submit(sendings)
        except Exception:  # noqa: BLE001 - whatever it was, these sends are taken again after their lease
            log.exception("handing %d sends to the sender failed; they are taken again when their lease lapses",
                          len(sendings))
            self._lost(sendings)

    def _lost(self, sendings):
        """The sending process died with these unanswered: their leases lapse and the run after
        takes them again (the journal says which of them a provider had taken already)."""
        with self._idle:
            self._busy -= len(sendings)
            self._in_flight.difference_update(s.attempt_id for s in sendings)
            self._unrecorded = self._unrecorded or bool(sendings)
            self._idle.notify_all()

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
            answered = [answer for answer in batch if not answer.lapsed]
            recorded = self._record(answered) if answered else True
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

    def unrecorded(self):
        """Whether some sends were answered (or lost) without reaching the database since the
        journal last started afresh."""
        return self._unrecorded

    def journal_settled(self):
        """Called once no send noted in this process's journal can still lapse: it starts afresh."""
        with self._idle:
            if not self._busy:
                self._unrecorded = False
                journal.clear()

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
