"""Incident figures read at scrape time: open incidents by status, and those flagged unpaged."""

from django.db.models import Count, Q
from prometheus_client.core import GaugeMetricFamily

from .models import Incident


class IncidentCollector:
    def collect(self):
        found = Incident.objects.filter(status__in=Incident.OPEN).aggregate(
            triggered=Count("pk", filter=Q(status=Incident.TRIGGERED)),
            acknowledged=Count("pk", filter=Q(status=Incident.ACKNOWLEDGED)),
            unpaged=Count("pk", filter=Q(unpaged=True)),
        )
        open_gauge = GaugeMetricFamily("tocsin_incidents_open", "Open incidents by status", labels=["status"])
        for status in ("triggered", "acknowledged"):
            open_gauge.add_metric([status], found[status])
        yield open_gauge
        unpaged = GaugeMetricFamily("tocsin_incidents_unpaged",
                                    "Open incidents whose escalation ran out and reached the final fallback (or nobody)")
        unpaged.add_metric([], found["unpaged"])
        yield unpaged
