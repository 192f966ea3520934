"""The sending process (TOCSIN_SEND_PROCESS, the production default): messages handed over a pipe
arrive at a real SMTP server, each accepted send is noted in the engine process's journal, the
answers come back to be recorded; and a sending process that dies gives its sends back."""

import os
import signal
import socket
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from tocsin.notify import journal, providers
from tocsin.notify.pool import Pool
from tocsin.notify.providers.base import DELIVERED, Config, Message, build
from tocsin.notify.send_loop import Sending


@pytest.fixture
def process_pool(settings):
    settings.TOCSIN_SEND_PROCESS = True
    pool, recorded = Pool(), []
    pool.record = recorded.extend
    yield pool, recorded
    if pool._sender is not None:
        pool._sender.stop()


def sending(attempt_id, port, *, lease_seconds=90):
    providers.load()
    now = timezone.now()
    provider = build(Config(name="mail", kind="smtp", settings={"host": "127.0.0.1", "port": port,
                                                                "from_address": "tocsin@example.org"}))
    message = Message(channel="email", to=f"person{attempt_id}@example.org", subject=f"Page {attempt_id}",
                      text="Disk full on db1", key=f"message-{attempt_id}")
    return Sending(attempt_id, now + timedelta(seconds=lease_seconds), message, [provider], {}, now)


def test_sends_go_out_from_the_sending_process_and_their_answers_come_back(smtp_sink, process_pool):
    pool, recorded = process_pool
    pool.submit([sending(n, smtp_sink.port) for n in range(1, 21)])
    assert pool.wait_idle(timeout=60)
    assert sorted(str(m["Subject"]) for m in smtp_sink.wait_for(20)) == sorted(f"Page {n}" for n in range(1, 21))
    assert sorted(a.sending.attempt_id for a in recorded) == list(range(1, 21))
    assert {a.outcome.status for a in recorded} == {DELIVERED} and {a.provider for a in recorded} == {"mail"}
    assert all(a.sending.message is None for a in recorded)  # only what the recorder needs comes back
    assert pool._sender.process.pid != os.getpid() and pool.in_flight() == set()


def test_the_sending_process_notes_accepted_sends_in_the_engines_journal(smtp_sink, process_pool):
    pool, recorded = process_pool
    pool.record = lambda answers: (_ for _ in ()).throw(RuntimeError("the database is away"))
    pool.submit([sending(7, smtp_sink.port)])
    assert pool.wait_idle(timeout=60)
    entries = journal.read([])
    [(key, (entry, path))] = [item for item in entries.items() if item[0].startswith("7:message-7:")]
    assert path == journal.claim() and entry["provider"] == "mail" and entry["status"] == DELIVERED


def _silent_server():
    """Accepts connections and never says a word: an SMTP relay that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held = []  # the accepted connection, kept open
    threading.Thread(target=lambda: held.append(listener.accept()), daemon=True).start()
    return listener, held


def test_a_sending_process_that_dies_gives_back_its_sends_and_a_new_one_takes_the_next(smtp_sink, process_pool):
    pool, recorded = process_pool
    silent, _held = _silent_server()
    try:
        pool.submit([sending(1, silent.getsockname()[1])])
        deadline = time.monotonic() + 30
        while pool._sender.process is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1)  # the send is under way, waiting for a greeting that never comes
        assert pool.in_flight() == {1}
        os.kill(pool._sender.process.pid, signal.SIGKILL)
        assert pool.wait_idle(timeout=30)
        assert pool.in_flight() == set() and recorded == []  # taken again when its lease lapses

        pool.submit([sending(2, smtp_sink.port)])
        assert pool.wait_idle(timeout=60)
        assert [a.sending.attempt_id for a in recorded] == [2]
        assert str(smtp_sink.wait_for(1)[0]["Subject"]) == "Page 2"
    finally:
        silent.close()


def test_once_every_answer_is_recorded_the_journal_starts_afresh(smtp_sink, process_pool):
    pool, recorded = process_pool
    pool.submit([sending(3, smtp_sink.port)])
    assert pool.wait_idle(timeout=60)
    assert recorded[0].outcome.status == DELIVERED
    assert not any(key.startswith("3:") for key in journal.read([]))
