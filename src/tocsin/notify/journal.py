"""The send journal: a line appended the moment a provider accepts a message, before its answer
reaches the database. If the process dies in between, the attempt's lease lapses, and the run that
takes it again reads the journal and records the send instead of sending again. This keeps a crash
to at most the sends that were literally on the wire at that instant (DESIGN: delivery guarantee).

A write() of one short line to a file opened with O_APPEND survives the death of the process (the
kernel has it); it is not synced, so a power cut loses it, and then the message is sent again.
One file per process, in a folder shared by the processes of one host; a file whose process has
died is read by the next claim of lapsed attempts and then removed."""

import hashlib
import json
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

_lock = threading.Lock()
_file = {}


def folder():
    """Beside a SQLite database file; for PostgreSQL, in this host's temporary folder, named after
    the database (TOCSIN_SEND_JOURNAL_DIR overrides)."""
    if settings.TOCSIN_SEND_JOURNAL_DIR:
        return Path(settings.TOCSIN_SEND_JOURNAL_DIR)
    name = str(connection.settings_dict.get("NAME") or "")
    if connection.vendor == "sqlite" and name and name != ":memory:" and not name.startswith("file:"):
        return Path(name).resolve().parent / f"{Path(name).name}.send-journal"
    digest = hashlib.sha256(f"{connection.vendor}:{connection.settings_dict.get('HOST')}:{name}".encode())
    return Path(tempfile.gettempdir()) / f"tocsin-send-journal-{digest.hexdigest()[:16]}"


def _own_path():
    return folder() / f"{socket.gethostname()}-{os.getpid()}.jsonl"


def claim():
    """This process's journal, opened for appending (its path). A file already there was left by
    an earlier process that had the same id (a restarted container often does): it is set aside
    for recovery, as a dead process's would be."""
    with _lock:
        if "fd" not in _file:
            path = _own_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                path.rename(path.with_name(f"{path.stem}.{time.time_ns()}.earlier"))
            _file.update(path=path, fd=os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
        return _file["path"]


def write_into(path):
    """The sending process notes its sends in the journal of the process it sends for."""
    with _lock:
        _file.update(path=Path(path), fd=os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))


def _descriptor():
    if "fd" not in _file:
        claim()
    return _file["fd"]


def key(attempt_id, message_key, lease):
    """One send of one attempt: its id, its message's random id and the lease it was sent under."""
    return f"{attempt_id}:{message_key}:{lease.isoformat()}"


def accepted(send_key, provider, provider_message_id, status):
    """Called from the sending loop as soon as a provider has taken a message."""
    line = json.dumps({"send": send_key, "provider": provider, "id": provider_message_id, "status": status}) + "\n"
    fd = _descriptor()
    with _lock:
        os.write(fd, line.encode())


def clear():
    """Everything written here has been recorded in the database: start the file afresh (a
    sending process appending to it goes on at its new end)."""
    with _lock:
        if "fd" in _file:
            os.ftruncate(_file["fd"], 0)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale_files():
    """This host's journal files that no live process writes to: those of processes that died,
    and those set aside by `claim`."""
    claim()
    found = []
    host = socket.gethostname()
    try:
        found = list(folder().glob(f"{host}-*.earlier"))
        paths = list(folder().glob(f"{host}-*.jsonl"))
    except OSError:
        return found
    for path in paths:
        pid = path.stem.rpartition("-")[2]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            found.append(path)
    return found


def read(files):
    """{send key: (entry, file)} of `files` and of this process's own journal: the sends a
    provider accepted whose answer may not have been recorded."""
    entries = {}
    with _lock:
        own = _file.get("path")
    for path in [*files, *([own] if own and own not in files else [])]:
        try:
            text = path.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut short by the crash: that send is not known to have gone out
            if isinstance(entry, dict) and "send" in entry:
                entries[entry["send"]] = (entry, path)
    return entries


def remove(files):
    for path in files:
        try:
            path.unlink()
        except OSError:
            pass
