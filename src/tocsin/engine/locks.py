"""On SQLite exactly one engine may run: it holds an exclusive lock on a file beside the database."""

import fcntl
import os

from django.db import connection


class EngineLocked(RuntimeError):
    pass


def lock_path():
    name = str(connection.settings_dict["NAME"])
    if not name or name == ":memory:" or name.startswith("file:memorydb"):
        return None
    return f"{os.path.abspath(name)}.engine-lock"


class SqliteEngineLock:
    """Held for as long as the engine runs; the operating system drops it if the process dies."""

    def __init__(self):
        self.path = lock_path()
        self._file = None

    def acquire(self):
        if self.path is None:
            return
        handle = open(self.path, "a+")  # noqa: SIM115 - kept open while the lock is held
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise EngineLocked(
                f"Another Tocsin engine is running on this SQLite database ({holder} holds {self.path}). "
                "On SQLite exactly one engine may run: stop the other one, or use PostgreSQL to run several "
                "workers."
            ) from None
        handle.truncate(0)
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self):
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
