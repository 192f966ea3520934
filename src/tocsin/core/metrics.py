"""Prometheus metrics: HTTP traffic, and the audit chain head read at scrape time."""

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily

REQUESTS = Counter("tocsin_http_requests_total", "HTTP requests served", ["method", "route", "status"])
LATENCY = Histogram(
    "tocsin_http_request_duration_seconds",
    "Time to serve an HTTP request",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class AuditChainCollector:
    """Exposes the chain head so that an outside scraper keeps a copy of it (an anchor)."""

    def collect(self):
        from . import audit

        seq, digest = audit.head()
        length = GaugeMetricFamily("tocsin_audit_chain_length", "Entries in the audit chain")
        length.add_metric([], seq)
        yield length
        info = InfoMetricFamily("tocsin_audit_chain_head", "Hash of the newest audit entry")
        info.add_metric([], {"seq": str(seq), "hash": digest})
        yield info


_collectors = []


def register(collector):
    """Apps add collectors that read state at scrape time (queue depths, unpaged incidents)."""
    _collectors.append(collector)


register(AuditChainCollector())


def exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY as registry  # noqa: N811
    scrape = CollectorRegistry()
    for collector in _collectors:
        scrape.register(collector)
    return generate_latest(registry) + generate_latest(scrape)
