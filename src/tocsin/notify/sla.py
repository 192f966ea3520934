"""Delivery figures per provider and channel against each provider's contractual SLA (F8), for the
SLA page, /metrics and the dashboard.

What is counted: the attempts a provider was asked to carry (`provider` set, status sent,
delivered or a failure), by `created_at`, over the last 24 h, 7 d and 30 d.
- accepted share: (sent + delivered) / attempts; success rate: delivered / finished, where
  finished is delivered or a failure (an attempt still only "sent" has no known fate yet).
- answer latency: `latency_ms`, the provider's answer to our send.
- delivery latency, for delivered attempts only: `latency_ms` + (`finished_at` - `sent_at`), from
  our send to the confirmation (for SMTP and webhooks, delivery is the answer itself).
- the SLA "sla_percent delivered within sla_seconds" holds when the share of attempts delivered
  within sla_seconds (by delivery latency) is at least sla_percent; an attempt that failed, or is
  still only "sent", counts against it. The breach flag (metric, dashboard) reads the 24 h window,
  the page shows every window.

Everything is computed in the database, a fixed number of queries whatever the number of attempts:
one grouped count, and the percentiles (linear interpolation, as percentile_cont) with
percentile_cont on PostgreSQL, and on SQLite with ROW_NUMBER() and COUNT(*) windows that return only
the (at most four) rows around each percentile of each group."""

import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from .models import Attempt, Provider

WINDOWS = (("24h", timedelta(hours=24)), ("7d", timedelta(days=7)), ("30d", timedelta(days=30)))
BREACH_WINDOW = "24h"
PERCENTILES = (0.5, 0.95)
COUNTED = (Attempt.SENT, Attempt.DELIVERED, *Attempt.FAILURES)
DEFAULT_SLA_PERCENT = Provider._meta.get_field("sla_percent").default
DEFAULT_SLA_SECONDS = Provider._meta.get_field("sla_seconds").default


@dataclass
class Figures:
    provider: str
    channel: str
    window: str
    attempts: int = 0
    accepted: int = 0
    delivered: int = 0
    finished: int = 0
    within_sla: int = 0
    answer_p50_ms: float | None = None
    answer_p95_ms: float | None = None
    delivery_p50_ms: float | None = None
    delivery_p95_ms: float | None = None
    sla_percent: Decimal = Decimal(DEFAULT_SLA_PERCENT)
    sla_seconds: int = DEFAULT_SLA_SECONDS

    @property
    def accepted_share(self):
        return self.accepted / self.attempts if self.attempts else None

    @property
    def success_rate(self):
        return self.delivered / self.finished if self.finished else None

    @property
    def sla_share(self):
        """Share of the attempts delivered within sla_seconds."""
        return self.within_sla / self.attempts if self.attempts else None

    @property
    def breached(self):
        # In integers and decimals: 99 of 100 meets 99 %, which floats would get wrong.
        return bool(self.attempts) and Decimal(self.within_sla) * 100 < Decimal(self.sla_percent) * self.attempts


def _sql_parts():
    quote = connection.ops.quote_name
    attempt, provider = quote(Attempt._meta.db_table), quote(Provider._meta.db_table)
    if connection.vendor == "postgresql":
        delivery = "COALESCE(a.latency_ms, 0) + ROUND(EXTRACT(EPOCH FROM (a.finished_at - a.sent_at)) * 1000)"
    else:
        delivery = "COALESCE(a.latency_ms, 0) + ROUND((julianday(a.finished_at) - julianday(a.sent_at)) * 86400000.0)"
    return attempt, provider, delivery


def _windows_cte(now):
    """The windows as a VALUES table (index, since) and its parameters."""
    rows = ", ".join(f"({index}, %s)" for index in range(len(WINDOWS)))
    adapt = connection.ops.adapt_datetimefield_value
    return f"w(win, since) AS (VALUES {rows})", [adapt(now - span) for _, span in WINDOWS]


def _base_filter(now):
    statuses = ", ".join(f"'{status}'" for status in COUNTED)  # constants of the model, not input
    adapt = connection.ops.adapt_datetimefield_value
    return (f"a.provider <> '' AND a.status IN ({statuses}) AND a.created_at >= %s AND a.created_at <= %s",
            [adapt(now - WINDOWS[-1][1]), adapt(now)])


def _counts(now):
    attempt, provider, delivery = _sql_parts()
    cte, cte_params = _windows_cte(now)
    where, where_params = _base_filter(now)
    sql = f"""
        WITH {cte}
        SELECT w.win, a.provider, a.channel, COUNT(*),
               SUM(CASE WHEN a.status IN ('sent', 'delivered') THEN 1 ELSE 0 END),
               SUM(CASE WHEN a.status = 'delivered' THEN 1 ELSE 0 END),
               SUM(CASE WHEN a.status <> 'sent' THEN 1 ELSE 0 END),
               SUM(CASE WHEN a.status = 'delivered' AND a.sent_at IS NOT NULL AND a.finished_at IS NOT NULL
                         AND {delivery} <= COALESCE(p.sla_seconds, {int(DEFAULT_SLA_SECONDS)}) * 1000
                        THEN 1 ELSE 0 END)
        FROM {attempt} a
        JOIN w ON a.created_at >= w.since
        LEFT JOIN {provider} p ON p.name = a.provider
        WHERE {where}
        GROUP BY w.win, a.provider, a.channel"""
    with connection.cursor() as cursor:
        cursor.execute(sql, cte_params + where_params)
        return cursor.fetchall()


def _position(p, n):
    """(lower row, upper row, fraction) of percentile p among n sorted values, 1-based, as
    percentile_cont interpolates."""
    h = (n - 1) * p
    low = math.floor(h)
    return low + 1, min(low + 2, n), h - low


def _percentiles_sqlite(now, value, condition):
    """{(win, provider, channel): {p: value}} from the few rows around each percentile."""
    attempt, _, _ = _sql_parts()
    cte, cte_params = _windows_cte(now)
    where, where_params = _base_filter(now)
    wanted = " OR ".join(f"rn = CAST((n - 1) * {p!r} AS INTEGER) + 1 OR rn = CAST((n - 1) * {p!r} AS INTEGER) + 2"
                         for p in PERCENTILES)
    sql = f"""
        WITH {cte},
        v AS (
            SELECT w.win AS win, a.provider AS provider, a.channel AS channel, {value} AS value
            FROM {attempt} a JOIN w ON a.created_at >= w.since
            WHERE {where} AND {condition}
        ),
        r AS (
            SELECT win, provider, channel, value,
                   ROW_NUMBER() OVER (PARTITION BY win, provider, channel ORDER BY value) AS rn,
                   COUNT(*) OVER (PARTITION BY win, provider, channel) AS n
            FROM v
        )
        SELECT win, provider, channel, rn, n, value FROM r WHERE {wanted}"""
    with connection.cursor() as cursor:
        cursor.execute(sql, cte_params + where_params)
        rows = cursor.fetchall()
    groups = {}
    for win, provider, channel, rn, n, found in rows:
        groups.setdefault((win, provider, channel), ({}, n))[0][rn] = float(found)
    result = {}
    for group, (values, n) in groups.items():
        result[group] = {}
        for p in PERCENTILES:
            low, high, fraction = _position(p, n)
            result[group][p] = values[low] + fraction * (values[high] - values[low])
    return result


def _percentiles_postgresql(now, value, condition):
    attempt, _, _ = _sql_parts()
    cte, cte_params = _windows_cte(now)
    where, where_params = _base_filter(now)
    columns = ", ".join(f"percentile_cont({p!r}) WITHIN GROUP (ORDER BY {value})" for p in PERCENTILES)
    sql = f"""
        WITH {cte}
        SELECT w.win, a.provider, a.channel, {columns}
        FROM {attempt} a JOIN w ON a.created_at >= w.since
        WHERE {where} AND {condition}
        GROUP BY w.win, a.provider, a.channel"""
    with connection.cursor() as cursor:
        cursor.execute(sql, cte_params + where_params)
        return {(row[0], row[1], row[2]): {p: float(v) for p, v in zip(PERCENTILES, row[3:])}
                for row in cursor.fetchall()}


def _percentiles(now, value, condition):
    if connection.vendor == "postgresql":
        return _percentiles_postgresql(now, value, condition)
    return _percentiles_sqlite(now, value, condition)


def figures(now=None):
    """[Figures] for every provider, channel and window with attempts, sorted by provider,
    channel and window, in four queries: the providers' SLAs, the counts, and the percentiles of
    answer and of delivery latency."""
    now = now or timezone.now()
    _, _, delivery = _sql_parts()
    slas = {name: (percent, seconds)
            for name, percent, seconds in Provider.objects.values_list("name", "sla_percent", "sla_seconds")}
    answer = _percentiles(now, "a.latency_ms", "a.latency_ms IS NOT NULL")
    delivered = _percentiles(
        now, delivery, "a.status = 'delivered' AND a.sent_at IS NOT NULL AND a.finished_at IS NOT NULL")
    found = []
    for win, provider, channel, attempts, accepted, n_delivered, finished, within in _counts(now):
        percent, seconds = slas.get(provider, (Decimal(DEFAULT_SLA_PERCENT), DEFAULT_SLA_SECONDS))
        group = (win, provider, channel)
        found.append(Figures(
            provider=provider, channel=channel, window=WINDOWS[win][0], attempts=attempts, accepted=accepted or 0,
            delivered=n_delivered or 0, finished=finished or 0, within_sla=within or 0,
            answer_p50_ms=answer.get(group, {}).get(0.5), answer_p95_ms=answer.get(group, {}).get(0.95),
            delivery_p50_ms=delivered.get(group, {}).get(0.5), delivery_p95_ms=delivered.get(group, {}).get(0.95),
            sla_percent=percent, sla_seconds=seconds))
    order = {name: index for index, (name, _) in enumerate(WINDOWS)}
    return sorted(found, key=lambda f: (f.provider, f.channel, order[f.window]))


def breaches(now=None):
    """[(provider, channel)] whose SLA is breached over the breach window: for the dashboard."""
    return [(f.provider, f.channel) for f in figures(now) if f.window == BREACH_WINDOW and f.breached]


class SlaCollector:
    """tocsin_provider_delivery_ratio, tocsin_provider_latency_p95_seconds (delivery latency) and
    tocsin_provider_sla_breached, read from the database at scrape time."""

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        ratio = GaugeMetricFamily("tocsin_provider_delivery_ratio",
                                  "Delivered / finished attempts per provider, channel and window",
                                  labels=["provider", "channel", "window"])
        latency = GaugeMetricFamily("tocsin_provider_latency_p95_seconds",
                                    "95th percentile of send-to-delivery time of delivered attempts",
                                    labels=["provider", "channel", "window"])
        breached = GaugeMetricFamily("tocsin_provider_sla_breached",
                                     f"1 when the provider's SLA is not met over the last {BREACH_WINDOW}",
                                     labels=["provider", "channel"])
        for f in figures():
            if f.success_rate is not None:
                ratio.add_metric([f.provider, f.channel, f.window], f.success_rate)
            if f.delivery_p95_ms is not None:
                latency.add_metric([f.provider, f.channel, f.window], f.delivery_p95_ms / 1000)
            if f.window == BREACH_WINDOW:
                breached.add_metric([f.provider, f.channel], 1 if f.breached else 0)
        yield ratio
        yield latency
        yield breached


_registered = []


def register_metrics():
    """Add the SLA gauges to /metrics (once); NotifyConfig.ready calls it."""
    if not _registered:
        from tocsin.core import metrics

        collector = SlaCollector()
        metrics.register(collector)
        _registered.append(collector)
