"""Across processes on SQLite: `tocsin serve` runs the engine in its own process and HTTP in the
server's workers, so a job scheduled by a request rings the engine through a Unix datagram socket
named after the database. (On PostgreSQL, LISTEN/NOTIFY does this.)"""

import hashlib
import logging
import os
import socket
import tempfile
import threading

from django.db import connection

log = logging.getLogger("tocsin.engine")


def socket_path():
    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "sqlite" or not name or name == ":memory:" or name.startswith("file:memorydb"):
        return None
    digest = hashlib.sha256(os.path.abspath(name).encode()).hexdigest()[:20]
    return os.path.join(tempfile.gettempdir(), f"tocsin-engine-{digest}.sock")  # short: AF_UNIX allows ~100 bytes


def ring():
    """Tell the engine of this SQLite database, if one runs, to look at the queue now."""
    path = socket_path()
    if path is None:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as bell:
        bell.setblocking(False)
        try:
            bell.sendto(b"!", path)
        except OSError:
            pass  # no engine listening (or its queue full: it is awake anyway)


class Doorbell:
    """Held by the engine (which holds the SQLite engine lock, so a socket file left behind by a
    dead engine may be replaced)."""

    def __init__(self, wake, stop: threading.Event):
        self.wake, self.stop = wake, stop
        self.path = socket_path()
        self.bell = None

    def start(self):
        if self.path is None:
            return False
        try:
            if os.path.exists(self.path):
                os.unlink(self.path)
            self.bell = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.bell.bind(self.path)
            self.bell.settimeout(1.0)
        except OSError as exc:
            log.warning("engine doorbell unavailable; polling instead", extra={"error": type(exc).__name__})
            return False
        threading.Thread(target=self._listen, name="engine-doorbell", daemon=True).start()
        return True

    def _listen(self):
        try:
            while not self.stop.is_set():
                try:
                    self.bell.recv(64)
                except TimeoutError:
                    continue
                except OSError:
                    return
                self.wake()
        finally:
            self.bell.close()
            try:
                os.unlink(self.path)
            except OSError:
                pass
