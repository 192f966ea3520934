"""The sending process: the engine's process hands it messages through a pipe, it sends them in
its asyncio loop (send_loop.py) and passes the answers back; the engine's process records them.
Sending, once the engine's biggest cost, then runs on a core of its own, beside the engine's
claims and renders, instead of taking turns with them under one interpreter lock.

The process notes each accepted send in the engine process's journal. When the engine's process
ends, however it ends, the pipe closes and the sending process ends with it; if the sending
process dies, what it had not answered is taken again when its lease lapses, and a new sending
process starts with the next messages."""

import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import queue as stdlib_queue
import signal
import threading

from . import journal
from .send_loop import SendLoop

log = logging.getLogger("tocsin.notify")
ANSWERS_AT_ONCE = 500
READY, READY_SECONDS = "ready", 60
PR_SET_PDEATHSIG = 1  # prctl(2)


class SendProcess:
    """The engine's side of the sending process."""

    def __init__(self, answered, lost):
        self.answered, self.lost = answered, lost  # lost(sendings): the process died without answering them
        self._lock = threading.Lock()
        self._conn = None
        self.process = None
        self._out = {}  # attempt id -> Sending handed over and not answered

    def start(self):
        with self._lock:
            if self._conn is None:
                self._spawn()

    def _spawn(self):
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing of our threads
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs, str(journal.claim()), os.getpid()),
                                  name="tocsin-sending", daemon=True)
        _start_kept(process)
        theirs.close()
        # Ready once it has loaded Tocsin (a second or so), so that a first page does not wait for it.
        try:
            ready = ours.poll(READY_SECONDS) and ours.recv() == READY
        except (EOFError, OSError):
            ready = None
        if ready is None:  # it died while starting
            ours.close()
            process.join(timeout=5)
            raise RuntimeError(f"the sending process ended while starting (exit code {process.exitcode})")
        if not ready:
            log.error("the sending process did not start within %d s; sends wait for it", READY_SECONDS)
        self._conn, self.process = ours, process
        self._receiver = threading.Thread(target=self._receive, args=(ours, process), name="notify-answers",
                                          daemon=True)
        self._receiver.start()

    def stop(self):
        """Ends the sending process, sends under way included (it ends with ours anyway)."""
        if self.process is not None:
            self.process.terminate()
            self._receiver.join(timeout=10)

    def submit(self, sendings):
        with self._lock:
            if self._conn is None:
                self._spawn()
            for sending in sendings:
                self._out[sending.attempt_id] = sending
            try:
                self._conn.send(sendings)
            except OSError:
                pass  # it died; _receive hands them back as lost
            except Exception:  # never left us (a message that cannot be pickled): the caller gives them back
                for sending in sendings:
                    self._out.pop(sending.attempt_id, None)
                raise

    def _receive(self, conn, process):
        while True:
            try:
                answers = conn.recv()
            except (EOFError, OSError):
                break
            if answers == READY:  # late: it started after _spawn stopped waiting
                continue
            with self._lock:
                for answer in answers:
                    self._out.pop(answer.sending.attempt_id, None)
            for answer in answers:
                self.answered(answer)
        process.join(timeout=5)
        with self._lock:
            lost, self._out = list(self._out.values()), {}
            if self._conn is conn:
                self._conn = None
        conn.close()
        if lost:
            log.error("the sending process ended (exit code %s); %d sends will be taken again when their lease "
                      "lapses", process.exitcode, len(lost))
        else:
            log.info("the sending process ended (exit code %s)", process.exitcode)
        self.lost(lost)


def _start_kept(process):
    """Starts `process` from a thread that lives as long as it does: the kernel's parent-death
    signal (below) follows the thread that started a process, not the process, and the thread
    asking for a send may be gone long before the sending process should be."""
    started, failed = threading.Event(), []

    def keep():
        try:
            process.start()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            failed.append(exc)
        started.set()
        if not failed:
            multiprocessing.connection.wait([process.sentinel])

    threading.Thread(target=keep, name="notify-sending-keeper", daemon=True).start()
    started.wait()
    if failed:
        raise failed[0]


def _die_with(parent_pid):
    """Ends this process the instant the engine's process ends, however it ends (Linux). Without
    it, sends already handed over would go on for a moment after a crash, and their notes could
    land in a journal the next engine has already read and removed: sent twice."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the closed pipe ends us, a moment later
        pass
    if os.getppid() != parent_pid:  # it ended before we asked
        os._exit(0)


def _serve(conn, journal_path, parent_pid):
    """The sending process's main: until the engine's process closes the pipe."""
    _die_with(parent_pid)
    import django

    django.setup()
    journal.write_into(journal_path)
    answers = stdlib_queue.SimpleQueue()
    loop = SendLoop(answers.put)
    loop.start()
    conn.send(READY)
    threading.Thread(target=_pass_back, args=(conn, answers), name="notify-pass-back", daemon=True).start()
    while True:
        try:
            sendings = conn.recv()
        except (EOFError, OSError):
            os._exit(0)  # the engine's process is gone: so are we, sends under way included
        loop.submit(sendings)


def _pass_back(conn, answers):
    while True:
        batch = [answers.get()]
        while len(batch) < ANSWERS_AT_ONCE:
            try:
                batch.append(answers.get_nowait())
            except stdlib_queue.Empty:
                break
        for answer in batch:
            answer.sending = answer.sending.receipt()
        try:
            conn.send(batch)
        except OSError:
            os._exit(0)
