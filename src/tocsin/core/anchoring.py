"""Supervised part that anchors the audit chain head periodically, outside the database."""

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.conf import settings

from . import audit

log = logging.getLogger("tocsin.audit")


class AuditAnchorer:
    """A supervised part (see tocsin.supervisor): `run` returns once `stop` is set."""

    name = "audit-anchor"

    async def run(self, stop):
        while True:
            try:
                await sync_to_async(audit.anchor, thread_sensitive=False)()
            except Exception:
                log.exception("could not anchor the audit chain")
            try:
                await asyncio.wait_for(stop.wait(), settings.TOCSIN_AUDIT_ANCHOR_SECONDS)
            except TimeoutError:
                continue
            await sync_to_async(audit.anchor, thread_sensitive=False)()
            return
