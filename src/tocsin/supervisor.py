"""`tocsin serve` as a supervisor: it runs the HTTP server as a child process and the
long-lived background parts (audit anchoring, the engine and the SMTP listener) in its own
event loop, and stops them all together."""

import asyncio
import ctypes
import ctypes.util
import importlib
import logging
import os
import signal
import sys
import tempfile

from django.conf import settings

log = logging.getLogger("tocsin.supervisor")


def load_parts(exclude=(), options=None):
    """Instantiate TOCSIN_SUPERVISED_PARTS: objects with a `name` and `async run(stop: asyncio.Event)`.
    `options` maps a part's name to the keyword arguments it is made with (e.g. the SMTP port)."""
    parts = []
    for dotted in settings.TOCSIN_SUPERVISED_PARTS:
        module, _, attribute = dotted.rpartition(".")
        make = getattr(importlib.import_module(module), attribute)
        name = getattr(make, "name", None)
        if name is not None and name in exclude:
            continue  # never even made: a part that is not wanted must not bind ports
        part = make(**(options or {}).get(name, {}))
        if part.name not in exclude:
            parts.append(part)
    return parts


def http_command(server, host, port, workers, tls=None):
    """The HTTP server's command line; `tls` is (certificate file, PKCS#8 key file) to serve HTTPS."""
    target = "tocsin.asgi:application"
    if server == "granian":
        secure = ["--ssl-certificate", str(tls[0]), "--ssl-keyfile", str(tls[1])] if tls else []
        return [
            sys.executable, "-m", "granian", "--interface", "asgi", "--host", host, "--port", str(port),
            "--workers", str(workers), "--no-ws", "--log-level", "warning", *secure,
            # granian workers busy at SIGTERM may never exit by themselves; have granian kill them.
            "--workers-kill-timeout", "5", target,
        ]
    secure = ["--ssl-certfile", str(tls[0]), "--ssl-keyfile", str(tls[1])] if tls else []
    return [
        sys.executable, "-m", "uvicorn", target, "--host", host, "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--lifespan", "on", "--log-level", "warning", *secure,
    ]


class Supervisor:
    def __init__(self, command, parts, env=None):
        self.command = command
        self.parts = parts
        self.env = env or os.environ.copy()

    async def run(self):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        # Its own process group, so that stopping reaches the server's worker processes too.
        child = await asyncio.create_subprocess_exec(
            *self.command, env=self.env, start_new_session=True, preexec_fn=_die_with_parent
        )
        tasks = [asyncio.create_task(self._guard(part, stop), name=part.name) for part in self.parts]
        child_exit = asyncio.create_task(child.wait())
        stop_wait = asyncio.create_task(stop.wait())
        await asyncio.wait({child_exit, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        if child.returncode is None:
            self._signal_group(child, signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), 10)
            except TimeoutError:
                log.warning("HTTP server ignored SIGTERM for 10 s; killing it")
        self._signal_group(child, signal.SIGKILL)  # whatever of the group outlived its leader
        await asyncio.gather(*tasks, return_exceptions=True)
        stop_wait.cancel()
        return child.returncode or 0

    @staticmethod
    def _signal_group(child, signum):
        try:
            os.killpg(child.pid, signum)
        except ProcessLookupError:
            pass

    @staticmethod
    async def _guard(part, stop):
        """Restart a crashed part after a pause; one failing part must not take the server down."""
        while not stop.is_set():
            try:
                await part.run(stop)
                return
            except Exception:
                log.exception("supervised part failed; restarting", extra={"part": part.name})
                try:
                    await asyncio.wait_for(stop.wait(), 5)
                except TimeoutError:
                    pass


def _die_with_parent():
    """In the child, before exec: on Linux, ask for SIGTERM if the supervisor dies (even by
    SIGKILL), so a crashed `tocsin serve` never leaves a server holding the port."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # elsewhere the process-group stop on a normal exit still applies


def child_environment(workers):
    env = os.environ.copy()
    # Each granian worker: the uvloop event loop and a single-threaded Rust runtime. On the 2-core
    # dev machine this served a third more ingestion requests a second than the defaults (asyncio's
    # loop, a runtime thread per core); bench/ingest_vs_alertmanager.py shows it. Either can be set.
    env.setdefault("GRANIAN_LOOP", "uvloop")
    env.setdefault("GRANIAN_RUNTIME_MODE", "st")
    if workers > 1 and not env.get("PROMETHEUS_MULTIPROC_DIR"):
        env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tocsin-metrics-")
    return env
