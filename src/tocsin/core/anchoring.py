"""Supervised part that anchors the audit chain head periodically, outside the database."""

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

from . import audit

log = logging.getLogger("tocsin.audit")


def _anchor_once():
    try:
        audit.anchor()
    finally:
        connections.close_all()  # this runs on a pool thread; leave no connection behind


class AuditAnchorer:
    """A supervised part (see tocsin.supervisor): `run` returns once `stop` is set."""

    name = "audit-anchor"

    async def run(self, stop):
        while True:
            try:
                await sync_to_async(_anchor_once, thread_sensitive=False)()
            except Exception:
                log.exception("could not anchor the audit chain")
            try:
                await asyncio.wait_for(stop.wait(), settings.TOCSIN_AUDIT_ANCHOR_SECONDS)
            except TimeoutError:
                continue
            await sync_to_async(_anchor_once, thread_sensitive=False)()
            return
