"""Manual outage reports (E8): a person says a service is down, for when monitoring itself is.

A report is a human action, so it is audited; the alert it makes is data like any other and goes
through the same processing (suppression, grouping, paging). While a service has an open manual
report, further reports add to its count instead of paging again: many people noticing one
outage is one alert."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tocsin.catalog.models import Service
from tocsin.core import audit
from tocsin.incidents.services.lifecycle import MAX_DETAILS, MAX_TITLE

from .events import SEVERITIES, TRIGGER, Event
from .models import Alert
from .store import store_events

SOURCE = "manual"
VIA = ("web", "email", "api")


def report_dedup_key(service):
    return f"manual:{service.slug}"


def _checked(service, summary, details, severity, via):
    if not isinstance(service, Service) or service.pk is None:
        raise ValidationError({"service": "Choose the service that is affected."})
    summary = " ".join((summary or "").split())
    if not summary:
        raise ValidationError({"summary": "Say what is wrong in a few words."})
    if len(summary) > MAX_TITLE:
        raise ValidationError({"summary": f"Keep the summary within {MAX_TITLE} characters."})
    details = (details or "").strip()
    if len(details) > MAX_DETAILS:
        raise ValidationError({"details": f"Keep the details within {MAX_DETAILS:,} characters."})
    if severity not in SEVERITIES:
        raise ValidationError({"severity": f"Severity is one of {', '.join(SEVERITIES)}."})
    if via not in VIA:
        raise ValidationError({"via": f"A report comes by {', '.join(VIA)}."})
    return summary, details


def report_outage(service, summary, *, actor, details="", severity="error", via="web", now=None):
    """Record a manual report on `service` as an alert with source `manual`; returns the open alert."""
    summary, details = _checked(service, summary, details, severity, via)
    now = now or timezone.now()
    dedup_key = report_dedup_key(service)
    event = Event(
        action=TRIGGER, dedup_key=dedup_key, severity=severity, summary=summary, source=SOURCE,
        details={"details": details, "reported_by": actor.label, "via": via},
        raw={"summary": summary, "via": via}, service_id=service.pk,
    )
    with transaction.atomic():
        store_events([event], now)
        alert = Alert.objects.get(service=service, dedup_key=dedup_key, status__in=Alert.OPEN)
        audit.record(actor, "alerts.report", alert, at=now, summary={
            "service": service.pk, "severity": severity, "via": via, "occurrences": alert.occurrences})
    return alert
