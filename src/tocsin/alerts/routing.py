"""Global routing rules on the ingestion fast path (E3): ordered, first match wins, kept in process.

`route(event)` runs on the event loop for every event of an integration bound to no service, so
it reads the rules from memory. The rules are re-read from the database when they are more than
FRESH_SECONDS old:
- up to STALE_SECONDS old, the rules in hand still answer and a worker thread re-reads them in
  the background, so the event loop does not wait for the database;
- older than that (at start, or after a quiet spell), the caller waits for one read: in a worker
  thread when called from the event loop (Django refuses database work there; the loop is
  blocked for that one small query), directly otherwise.
A change made through the use cases takes effect in this process at commit (`forget()`); other
processes see it within FRESH_SECONDS while busy, and a process that was quiet may route its
first event by rules up to STALE_SECONDS old while it re-reads them."""

import asyncio
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import close_old_connections

from . import matchers as label_matchers
from .models import RoutingRule

log = logging.getLogger("tocsin.alerts")
FRESH_SECONDS = 5.0
STALE_SECONDS = 30.0
RETRY_SECONDS = 1.0  # after a failed read, how long the rules in hand serve before the next try
_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alerts-routing")


@dataclass(frozen=True, slots=True)
class Route:
    rule_id: int
    service_id: int
    matchers: tuple
    severities: frozenset
    source: re.Pattern | None

    def accepts(self, labels, severity, source):
        if self.severities and severity not in self.severities:
            return False
        if self.source is not None and self.source.fullmatch(source or "") is None:
            return False
        return label_matchers.matches(self.matchers, labels)


def compile_rule(rule_id, service_id, matchers, severities, source_pattern):
    """A rule ready for the fast path; its matchers are checked (and their regexes compiled) here,
    so that matching itself cannot fail."""
    return Route(rule_id, service_id, tuple(label_matchers.validate(matchers)), frozenset(severities or ()),
                 label_matchers.compiled(source_pattern) if source_pattern else None)


def read_routes():
    """The enabled rules in order, compiled. A rule that does not check out (written around the
    use cases) is left out and logged rather than failing ingestion."""
    routes = []
    rows = (RoutingRule.objects.filter(enabled=True).order_by("position", "id")
            .values_list("id", "service_id", "matchers", "severities", "source_pattern"))
    for row in rows:
        try:
            routes.append(compile_rule(*row))
        except (ValidationError, re.error, TypeError):
            log.warning("routing rule %s is not valid; it is skipped", row[0])
    return tuple(routes)


def _in_event_loop():
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class RouteTable:
    """The rules in hand, when they were read, and at most one read under way."""

    def __init__(self):
        self._routes = None
        self._read_at = float("-inf")
        self._retry_at = float("-inf")
        self._generation = 0  # bumped by forget(): a read begun before it is not kept
        self._lock = threading.Lock()
        self._refreshing = False

    def routes(self):
        now = time.monotonic()
        age = now - self._read_at
        routes = self._routes
        if routes is not None and age < FRESH_SECONDS:
            return routes
        if routes is not None and age < STALE_SECONDS:
            self._refresh_in_background()
            return routes
        if routes is None and now < self._retry_at:
            return ()  # the last read failed a moment ago: route nothing rather than wait again
        return self._read_now()

    def forget(self):
        with self._lock:
            self._generation += 1
            self._routes, self._read_at, self._retry_at = None, float("-inf"), float("-inf")

    def _read_now(self):
        generation = self._generation
        try:
            if _in_event_loop():
                routes = _pool.submit(self._read_in_worker).result()
            else:
                routes = read_routes()
        except Exception:
            log.exception("routing rules could not be read")
            return self._after_failure()
        self._keep(routes, generation)
        return routes

    def _read_in_worker(self):
        try:
            return read_routes()
        finally:
            close_old_connections()

    def _refresh_in_background(self):
        with self._lock:
            if self._refreshing:
                return
            self._refreshing = True
        generation = self._generation

        def refresh():
            try:
                self._keep(self._read_in_worker(), generation)
            except Exception:
                log.exception("routing rules could not be read")
                self._after_failure()
            finally:
                self._refreshing = False
        _pool.submit(refresh)

    def _keep(self, routes, generation):
        with self._lock:
            if generation == self._generation:
                self._routes, self._read_at = routes, time.monotonic()

    def _after_failure(self):
        """Keep answering with the rules in hand, or with none (events are then stored unrouted),
        and read again after RETRY_SECONDS."""
        with self._lock:
            now = time.monotonic()
            self._retry_at = now + RETRY_SECONDS
            if self._routes is None:
                return ()
            self._read_at = now - FRESH_SECONDS + RETRY_SECONDS
            return self._routes


table = RouteTable()


def route(event):
    """The service of the first rule `event` matches (its labels, severity and source), or None:
    the writer then stores the alert as unrouted."""
    routes = table.routes()
    if not routes:
        return None
    labels = label_matchers.alert_labels(event)
    for candidate in routes:
        if candidate.accepts(labels, event.severity, event.source):
            return candidate.service_id
    return None


def forget():
    """Drop the rules in hand (after a rule changed in this process)."""
    table.forget()


def bind(events, integration):
    """Events as they came in through `integration` (an IntegrationInfo or the model itself): its
    id, its service or else the routing rules', and its security marking (E7) added to theirs."""
    options = integration.options if isinstance(integration.options, dict) else {}
    security = bool(options.get("security"))
    for event in events:
        event.integration_id = integration.id
        event.service_id = integration.service_id
        event.security = event.security or security
        if event.service_id is None:
            event.service_id = route(event)
    return events
