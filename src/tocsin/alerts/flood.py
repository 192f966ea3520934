"""Flood control: when a service has opened many incidents in a short time, its new alerts join
its newest open incident in bulk (one statement) instead of each opening and paging for another.

A storm of distinct alerts (a data centre losing power) must neither page people hundreds of times
nor keep the processor, and on SQLite the ingestion writer, busy opening incidents one by one.
Only alerts not yet looked at are absorbed; the stages (maintenance, grouping…) are skipped for
them, except that a service in a maintenance window has them recorded as suppressed."""

from datetime import timedelta

from django.db.models import Count

from tocsin.incidents.models import Incident, TimelineEntry
from tocsin.incidents.services import record_entry

from . import pipeline
from .models import Alert
from .stages.maintenance import active_windows

ABSORB_AT_ONCE = 5000
EVERY_STATUS = [status for status, _ in Incident.STATUSES]  # (lets the count use the service index)


def _waiting(service_ids=None):
    alerts = Alert.objects.filter(dirty=True, incident__isnull=True, status=Alert.TRIGGERED, handling=Alert.NEW,
                                  service__isnull=False)
    return alerts.filter(service_id__in=service_ids) if service_ids is not None else alerts


def reason_for(settings, incident):
    return (f"flood: {settings.flood_limit} or more incidents within {settings.flood_window_minutes} min; "
            f"joined #{incident.number}")[:255]


@pipeline.stage("flood")
def decide(alert, settings, now):
    """The last stage, for the alert that would otherwise open one incident too many."""
    incident = flooded(alert.service_id, settings, now)
    return pipeline.Decision(Alert.GROUPED, reason_for(settings, incident), incident) if incident else None


def flooded(service_id, settings, now):
    """The incident that takes a flooded service's new alerts, or None when there is no flood."""
    if not settings.flood_limit:
        return None
    since = now - timedelta(minutes=settings.flood_window_minutes)
    opened = Incident.objects.filter(service_id=service_id, status__in=EVERY_STATUS,
                                     created_at__gte=since).count()
    if opened < settings.flood_limit:
        return None
    return (Incident.objects.filter(service_id=service_id, status__in=Incident.OPEN)
            .order_by("-created_at", "-number").first())


def absorb(settings_for, now):
    """Absorb the waiting new alerts of every flooded service; returns how many. Runs in the
    caller's transaction."""
    counts = dict(_waiting().values_list("service_id").annotate(n=Count("id")).order_by())
    if not counts:
        return 0
    settings = settings_for(set(counts))
    absorbed = 0
    for service_id in counts:
        incident = flooded(service_id, settings[service_id], now)
        if incident is None:
            continue
        ids = list(_waiting([service_id]).order_by("id").values_list("id", flat=True)[:ABSORB_AT_ONCE])
        windows = active_windows(service_id, now)
        if windows:
            reason = f"maintenance window {windows[0].window.name}"
            changed = Alert.objects.filter(pk__in=ids).update(handling=Alert.SUPPRESSED, reason=reason, dirty=False)
        else:
            changed = Alert.objects.filter(pk__in=ids).update(
                incident=incident, handling=Alert.GROUPED, reason=reason_for(settings[service_id], incident),
                dirty=False)
            record_entry(incident, TimelineEntry.NOTE,
                         f"{changed} more alert(s) joined during a flood of new alerts on this service.",
                         key=f"alerts.flood:{incident.pk}:{ids[0]}", at=now, data={"alerts": changed})
        absorbed += changed
    return absorbed
