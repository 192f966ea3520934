"""The demo's alerting: integrations on a few services, a weekly patch window and grouping by
alert name, so the Alerts pages have something real to show."""

from datetime import timedelta

from django.utils import timezone

from tocsin.catalog.models import Service

from . import services, services_maintenance, services_settings
from .models import Integration

INTEGRATIONS = [
    ("checkout-api", "events-v2", "Checkout monitors (Events API v2)"),
    ("payments", "alertmanager", "Prometheus Alertmanager"),
    ("payments", "heartbeat", "Nightly settlement job"),
]


def load(actor):
    if not Integration.objects.exists():
        _create(actor)
    return f"Alerts: {Integration.objects.count()} integrations (keys: rotate one on its service's Integrations page)"


def _create(actor):
    by_name = {s.name: s for s in Service.objects.all()}
    for name, kind, title in INTEGRATIONS:
        service = by_name.get(name)
        if service is not None:
            options = {"interval_seconds": 24 * 3600, "grace_seconds": 3600} if kind == "heartbeat" else {}
            services.create_integration(service, kind, actor=actor, name=title, options=options)
    payments = by_name.get("payments")
    if payments is not None:
        services_settings.update_alert_settings(payments, {"grouping": "key", "group_labels": ["alertname"],
                                                           "group_window_minutes": 10}, actor=actor)
    targets = [s for s in (by_name.get("checkout-api"), payments) if s is not None]
    if targets:
        sunday = timezone.localdate() + timedelta(days=(6 - timezone.localdate().weekday()) or 7)
        services_maintenance.create_window(
            actor=actor, name="Sunday patching", services=targets, time_zone="Europe/Berlin",
            starts_at=timezone.datetime.combine(sunday, timezone.datetime.min.time()).replace(hour=2),
            ends_at=timezone.datetime.combine(sunday, timezone.datetime.min.time()).replace(hour=4),
            recurrence="FREQ=WEEKLY;BYDAY=SU", reason="Operating system patches")
