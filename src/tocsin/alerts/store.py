"""Writing normalised events with plain SQL: one upsert per dedup key, no ORM per row.

Runs inside the caller's transaction (the group-commit writer's, or a synchronous caller's), on
the database driver's own cursor: the statements are few and large, and Django's cursor wrapper
(query logging hooks, and on SQLite a regex rewrite of every `%s`) cost more than the SQL itself.
Within one batch, the events of one dedup key keep their order: consecutive triggers merge into
one upsert (their count adds up), and an acknowledge or resolve between them splits them into
waves, so "trigger, resolve, trigger" leaves one resolved alert and one new one."""

from datetime import timedelta
from functools import lru_cache

import orjson
from django.db import connection

from tocsin.engine import queue

from .events import ACKNOWLEDGE, RESOLVE, TRIGGER

PROCESS_JOB = "alerts.process"
# The processor runs this long after the commit that needs it: a few commits share one run (each
# run costs the engine write transactions of its own, which on SQLite queue behind the writer's),
# while the first page of an incident stays well inside its quarter-second budget.
PROCESS_DELAY = timedelta(milliseconds=25)
COLUMNS = ("service_id", "integration_id", "dedup_key", "status", "severity", "summary", "source", "component",
           "group", "alert_class", "labels", "details", "links", "raw", "group_key", "security", "first_seen",
           "last_seen", "occurrences", "handling", "reason", "sustain", "dirty")
ROWS_PER_STATEMENT = 400  # 23 columns: well under SQLite's 32,766 parameters
OPEN = "('triggered', 'acknowledged')"


def _json(value):
    return orjson.dumps(value).decode()


def _waves(events):
    per_key = {}
    for event in events:
        scope = event.service_id if event.service_id is not None else ("unrouted", event.integration_id)
        ops = per_key.setdefault((scope, event.dedup_key), [])
        if event.action == TRIGGER and ops and ops[-1][0] == TRIGGER:
            ops[-1][1].append(event)
        else:
            ops.append((event.action, [event]))
    # In arrival order: the processor takes new alerts by id, so a cause sent before its symptoms is
    # seen first. (Two writers on PostgreSQL may then deadlock on shared keys; the server breaks the
    # tie and the writer commits each request alone, which loses nothing.)
    ordered = list(per_key.values())
    depth = max((len(ops) for ops in ordered), default=0)
    for index in range(depth):
        yield [ops[index] for ops in ordered if len(ops) > index]


CONFLICT_ROUTED = f"(service_id, dedup_key) WHERE status IN {OPEN}"
CONFLICT_UNROUTED = f"(integration_id, dedup_key) WHERE (service_id IS NULL AND status IN {OPEN})"


@lru_cache(maxsize=64)
def _upsert_sql(vendor, rows, unrouted=False):
    """The upsert of `rows` alerts, in the driver's own parameter style (kept: batches repeat sizes)."""
    mark = "?" if vendor == "sqlite" else "%s"
    quote = connection.ops.quote_name
    placeholders = "(" + ", ".join([mark] * len(COLUMNS)) + ")"
    return (
        f"INSERT INTO alerts_alert ({', '.join(quote(c) for c in COLUMNS)}) VALUES "
        + ", ".join([placeholders] * rows)
        + f" ON CONFLICT {CONFLICT_UNROUTED if unrouted else CONFLICT_ROUTED} DO UPDATE SET"
        " occurrences = alerts_alert.occurrences + excluded.occurrences, last_seen = excluded.last_seen,"
        " severity = excluded.severity, summary = excluded.summary, details = excluded.details,"
        " labels = excluded.labels, links = excluded.links, raw = excluded.raw,"
        " dirty = CASE WHEN alerts_alert.incident_id IS NULL THEN TRUE ELSE alerts_alert.dirty END"
        " RETURNING dirty"
    )


@lru_cache(maxsize=8)
def _transition_sql(vendor, action, unrouted=False):
    mark = "?" if vendor == "sqlite" else "%s"
    scope = "service_id IS NULL AND integration_id = %s" if unrouted else "service_id = %s"
    if action == ACKNOWLEDGE:
        sql = ("UPDATE alerts_alert SET status = 'acknowledged', acknowledged_at = %s, last_seen = %s, dirty = TRUE"
               f" WHERE {scope} AND dedup_key = %s AND status = 'triggered'")
    else:
        sql = ("UPDATE alerts_alert SET status = 'resolved', resolved_at = %s, last_seen = %s, dirty = TRUE"
               f" WHERE {scope} AND dedup_key = %s AND status IN {OPEN}")
    return sql.replace("%s", mark)


def _trigger_row(events, now):
    latest = events[-1]
    return (latest.service_id, latest.integration_id, latest.dedup_key, "triggered", latest.severity, latest.summary,
            latest.source, latest.component, latest.group, latest.alert_class, _json(latest.labels),
            _json(latest.details), _json(latest.links), _json(latest.raw), latest.group_key, latest.security,
            now, now, len(events), "new" if latest.service_id else "unrouted", "", "{}", latest.service_id is not None)


def _triggers(cursor, groups, now):
    dirty = False
    for unrouted in (False, True):
        scoped = [events for events in groups if (events[-1].service_id is None) == unrouted]
        for start in range(0, len(scoped), ROWS_PER_STATEMENT):
            chunk = scoped[start:start + ROWS_PER_STATEMENT]
            params = [value for events in chunk for value in _trigger_row(events, now)]
            cursor.execute(_upsert_sql(connection.vendor, len(chunk), unrouted), params)
            dirty = any(row[0] for row in cursor.fetchall()) or dirty
    return dirty


def _transitions(cursor, action, events, now):
    changed = 0
    for event in events:
        unrouted = event.service_id is None
        cursor.execute(_transition_sql(connection.vendor, action, unrouted),
                       (now, now, event.integration_id if unrouted else event.service_id, event.dedup_key))
        changed += cursor.rowcount
    return changed > 0


def store_events(events, now):
    """Apply `events` (their service_id and integration_id set) in the current transaction.
    Schedules the processor when an alert needs it; returns whether it did."""
    needs_processing = False
    connection.ensure_connection()
    stamp = connection.ops.adapt_datetimefield_value(now)  # what Django itself would send for `now`
    # Driver errors come out as Django's (IntegrityError, OperationalError…), as from any other query.
    with connection.wrap_database_errors:
        cursor = connection.connection.cursor()
        try:
            for wave in _waves(events):
                triggers = [group for action, group in wave if action == TRIGGER]
                if triggers:
                    needs_processing = _triggers(cursor, triggers, stamp) or needs_processing
                for action in (ACKNOWLEDGE, RESOLVE):
                    moved = [group[0] for kind, group in wave if kind == action]
                    if moved:
                        needs_processing = _transitions(cursor, action, moved, stamp) or needs_processing
        finally:
            cursor.close()
    if needs_processing:
        queue.schedule(PROCESS_JOB, due_at=now + PROCESS_DELAY, key=PROCESS_JOB)
    return needs_processing
