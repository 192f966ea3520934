"""Across processes on Postgres: LISTEN on the engine channel and wake the local engine when
another process schedules a job. It keeps its own autocommit connection and reconnects after
the database restarts (waking the engine then, since notifications may have been missed)."""

import logging
import threading

import psycopg
from django.db import connections

from .queue import CHANNEL

log = logging.getLogger("tocsin.engine")


def listen_params(application_name):
    """Django's own connection settings for a plain psycopg connection (minus what only Django's
    cursor understands), named so that an operator sees it in pg_stat_activity."""
    params = connections["default"].get_connection_params()
    for name in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(name, None)
    params["application_name"] = application_name
    return params


class Listener:
    def __init__(self, wake, stop: threading.Event, poll_seconds=1.0):
        self.wake = wake
        self.stop = stop
        self.poll_seconds = poll_seconds
        self.params = listen_params("tocsin engine listener")

    def run(self):
        pause = 0.2
        while not self.stop.is_set():
            try:
                with psycopg.connect(**self.params, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.wake()  # anything scheduled while we were not listening
                    pause = 0.2
                    while not self.stop.is_set():
                        for _ in conn.notifies(timeout=self.poll_seconds, stop_after=1):
                            self.wake()
            except psycopg.Error as exc:
                log.warning("engine listener lost its connection; reconnecting", extra={"error": type(exc).__name__})
                self.stop.wait(pause)
                pause = min(5.0, pause * 2)

    def start(self):
        thread = threading.Thread(target=self.run, name="engine-listener", daemon=True)
        thread.start()
        return thread
