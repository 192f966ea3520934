"""The dashboard's event stream (Server-Sent Events): `changed` whenever an incident changes.

One change feed per process (per event loop) serves every open stream. On Postgres it is one
LISTEN connection on incidents.live's channel, where every timeline write is announced at commit
on every node; on SQLite (a single node) it polls the newest timeline entry and the open
incidents' count and last update once a second. The feed starts with the first viewer and stops
a while after the last one leaves."""

import asyncio
import contextvars
import json
import logging
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg
from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.db import DatabaseError, connections
from django.db.models import Count, Max
from django.http import HttpResponse, StreamingHttpResponse

from tocsin.core.permissions import require
from tocsin.core.view_access import principal
from tocsin.engine.listener import listen_params
from tocsin.incidents.live import CHANNEL
from tocsin.incidents.models import Incident, TimelineEntry

log = logging.getLogger("tocsin.web")

STREAM_SECONDS = 600  # then the browser's EventSource reconnects by itself
KEEPALIVE_SECONDS = 15
RETRY_MILLISECONDS = 3000
POLL_SECONDS = 1.0
READY_WAIT_SECONDS = 5
IDLE_SECONDS = 60  # the feed outlives its last viewer this long: page changes do not reconnect it
MAX_IDS = 100  # more incidents changed at once: say "everything" instead


class Subscription:
    """One stream's inbox: the incident ids changed since it last looked (None: unknown which)."""

    def __init__(self):
        self._ready = asyncio.Event()
        self._ids = set()
        self._everything = False

    def push(self, ids):
        if ids is None:
            self._everything = True
        else:
            self._ids |= ids
        self._ready.set()

    async def next(self, timeout):
        """The ids changed (None: unknown which), or False after `timeout` seconds without a change."""
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return False
        self._ready.clear()
        ids, everything = self._ids, self._everything
        self._ids, self._everything = set(), False
        return None if everything or len(ids) > MAX_IDS else ids


@dataclass(frozen=True)
class Snapshot:
    newest_entry: int
    open_count: int
    open_updated: object
    changed: frozenset | None  # incidents with entries newer than the previous snapshot's


def _snapshot(after_entry):
    """Cheap, indexed: the newest timeline entry, and the open incidents' count and last update."""
    newest = TimelineEntry.objects.aggregate(newest=Max("pk"))["newest"] or 0
    state = Incident.objects.filter(status__in=Incident.OPEN).aggregate(count=Count("pk"), updated=Max("updated_at"))
    changed = None
    if after_entry is not None and newest > after_entry:
        ids = list(TimelineEntry.objects.filter(pk__gt=after_entry).order_by()
                   .values_list("incident_id", flat=True).distinct()[:MAX_IDS + 1])
        changed = frozenset(ids) if len(ids) <= MAX_IDS else None
    return Snapshot(newest, state["count"], state["updated"], changed)


FEED_APPLICATION = "tocsin dashboard feed"


def _listen_params():
    # Named: an operator sees in pg_stat_activity that a node holds one such connection, not one per viewer.
    return listen_params(FEED_APPLICATION)


class Feed:
    def __init__(self, loop):
        self.loop = loop
        self.subscribers = weakref.WeakSet()  # a stream never iterated cannot leak its inbox
        self.ready = asyncio.Event()
        self.task = None
        self.idle_since = loop.time()

    def subscribe(self):
        subscription = Subscription()
        self.subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription):
        self.subscribers.discard(subscription)
        if not self.subscribers:
            self.idle_since = self.loop.time()

    def publish(self, ids):
        for subscription in list(self.subscribers):
            subscription.push(ids)

    def start(self):
        if self.task is None or self.task.done():
            self.ready.clear()
            self.idle_since = self.loop.time()
            source = self._listen if connections["default"].vendor == "postgresql" else self._poll
            # A context of its own: the feed outlives the request that happened to start it.
            self.task = self.loop.create_task(source(), context=contextvars.Context())

    async def wait_ready(self, timeout):
        try:
            await asyncio.wait_for(self.ready.wait(), timeout)
        except TimeoutError:
            log.warning("dashboard change feed not ready; the stream starts anyway")

    def _idle(self):
        return not self.subscribers and self.loop.time() - self.idle_since > IDLE_SECONDS

    async def _poll(self):
        executor = ThreadPoolExecutor(1, thread_name_prefix="dashboard-feed")  # one thread, one connection
        last, pause = None, POLL_SECONDS
        try:
            while not self._idle():
                try:
                    current = await self.loop.run_in_executor(executor, _snapshot, last and last.newest_entry)
                except DatabaseError as exc:
                    log.warning("dashboard feed could not read the database; retrying", extra={"error": str(exc)})
                    await self.loop.run_in_executor(executor, connections.close_all)
                    await asyncio.sleep(pause)
                    pause = min(5.0, pause * 2)
                    continue
                pause = POLL_SECONDS
                if last is not None and current.newest_entry != last.newest_entry:
                    self.publish(set(current.changed) if current.changed is not None else None)
                elif last is not None and (current.open_count, current.open_updated) != (last.open_count,
                                                                                         last.open_updated):
                    self.publish(None)
                last = current
                self.ready.set()
                await asyncio.sleep(POLL_SECONDS)
        finally:
            self.ready.clear()
            executor.submit(connections.close_all)
            executor.shutdown(wait=False)

    async def _listen(self):
        params, pause, listened_before = _listen_params(), 0.2, False
        try:
            while not self._idle():
                try:
                    async with await psycopg.AsyncConnection.connect(**params, autocommit=True,
                                                                     connect_timeout=5) as conn:
                        await conn.execute(f"LISTEN {CHANNEL}")
                        self.ready.set()
                        if listened_before:
                            self.publish(None)  # notifications sent while we were away are lost
                        listened_before, pause = True, 0.2
                        while not self._idle():
                            async for note in conn.notifies(timeout=KEEPALIVE_SECONDS):
                                self.publish({int(note.payload)} if note.payload.isdigit() else None)
                            await conn.execute("SELECT 1")  # a dead connection shows here, not never
                except (psycopg.Error, OSError) as exc:
                    self.ready.clear()
                    log.warning("dashboard feed lost its database connection; reconnecting",
                                extra={"error": type(exc).__name__})
                    await asyncio.sleep(pause)
                    pause = min(5.0, pause * 2)
        finally:
            self.ready.clear()


_feeds = weakref.WeakKeyDictionary()


def feed():
    """This event loop's feed (a server may run more than one loop)."""
    loop = asyncio.get_running_loop()
    if loop not in _feeds:
        _feeds[loop] = Feed(loop)
    return _feeds[loop]


def _event(ids):
    data = {} if ids is None else {"incidents": sorted(ids)}
    return f"event: changed\ndata: {json.dumps(data)}\n\n"


async def _stream(source, subscription, seconds):
    loop = asyncio.get_running_loop()
    ends = loop.time() + seconds
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n: ready\n\n"
        while (left := ends - loop.time()) > 0:
            ids = await subscription.next(min(KEEPALIVE_SECONDS, left))
            if ids is False:
                yield ": keep-alive\n\n"
            else:
                yield _event(ids)
    finally:
        source.unsubscribe(subscription)


def _check(request):
    try:
        require(principal(request), "incidents:read", target=request.path[:200])
    finally:
        # A stream stays open for minutes: it must not hold this request's database connection.
        connections.close_all()


@login_required
async def dashboard_events(request):
    await sync_to_async(_check)(request)
    if not isinstance(request, ASGIRequest):
        # A WSGI server (the test server, runserver) would hold a thread for the whole stream and
        # send nothing; 204 tells EventSource not to retry, and the page still has its refresh link.
        return HttpResponse(status=204)
    source = feed()
    source.start()
    await source.wait_ready(READY_WAIT_SECONDS)
    # Subscribed before the response leaves: whatever the page fetches after `open` is covered.
    response = StreamingHttpResponse(_stream(source, source.subscribe(), STREAM_SECONDS),
                                     content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
