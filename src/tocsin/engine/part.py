"""The engine as a part supervised by `tocsin serve` (see tocsin.supervisor)."""

import asyncio
import logging
import threading

from .locks import EngineLocked
from .worker import Engine

log = logging.getLogger("tocsin.engine")
RETRY_LOCK_SECONDS = 10


class EnginePart:
    name = "engine"

    async def run(self, stop: asyncio.Event):
        halt = threading.Event()
        engine = Engine()
        while not stop.is_set():
            thread_run = asyncio.create_task(asyncio.to_thread(self._run_engine, engine, halt))
            stop_wait = asyncio.create_task(stop.wait())
            await asyncio.wait({thread_run, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                halt.set()
                engine.wake()
                await thread_run  # the batch in flight finishes; jobs not started are released
                return
            stop_wait.cancel()
            if thread_run.result() == "locked":
                try:
                    await asyncio.wait_for(stop.wait(), RETRY_LOCK_SECONDS)
                except TimeoutError:
                    pass

    @staticmethod
    def _run_engine(engine, halt):
        try:
            engine.run(halt)
        except EngineLocked as exc:
            log.warning("engine not started here: %s", exc)
            return "locked"
        return "stopped"
