"""Supervised part that imports the HR export file (TOCSIN_HR_SYNC_FILE) whenever it changed."""

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

from tocsin.core import audit

log = logging.getLogger("tocsin.directory.sync")
SOURCE = "hr"


def sync_once(path=None):
    """One sync of the configured file; None when there is nothing (new) to import."""
    from .services import hr_import

    path = path or settings.TOCSIN_HR_SYNC_FILE
    if not path:
        return None
    return hr_import.sync_file(path, actor=audit.Actor.system("hr-sync"), source=SOURCE)


def _sync_in_thread():
    try:
        sync_once()
    finally:
        connections.close_all()  # this runs on a pool thread; leave no connection behind


class HrFileSync:
    """A supervised part (see tocsin.supervisor): `run` returns once `stop` is set. Without a
    configured file it only waits, so installations without an HR feed pay nothing."""

    name = "hr-sync"

    async def run(self, stop):
        if not settings.TOCSIN_HR_SYNC_FILE:
            await stop.wait()
            return
        interval = max(1, settings.TOCSIN_HR_SYNC_MINUTES) * 60
        log.info("HR sync watching its file", extra={"minutes": interval // 60})
        while not stop.is_set():
            try:
                await sync_to_async(_sync_in_thread, thread_sensitive=False)()
            except Exception:
                # Details (such as a database outage) go to the log; the next interval retries.
                log.exception("HR sync failed")
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                continue
