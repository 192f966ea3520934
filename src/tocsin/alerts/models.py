"""Integrations (where alerts come in) and alerts (what came in, deduplicated)."""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tocsin.catalog.models import Service
from tocsin.core.fields import EncryptedTextField
from tocsin.incidents.models import Incident


def key_digest(key: str) -> str:
    """The stored lookup form of an integration key (the key itself is kept only encrypted)."""
    return hashlib.sha256(key.encode()).hexdigest()


class Integration(models.Model):
    EVENTS_V2, ALERTMANAGER, GRAFANA, WEBHOOK, EMAIL, HEARTBEAT = (
        "events-v2", "alertmanager", "grafana", "webhook", "email", "heartbeat")
    KINDS = [
        (EVENTS_V2, "PagerDuty Events API v2"),
        (ALERTMANAGER, "Prometheus Alertmanager"),
        (GRAFANA, "Grafana alerting"),
        (WEBHOOK, "Generic JSON webhook"),
        (EMAIL, "E-mail"),
        (HEARTBEAT, "Heartbeat"),
    ]

    # Without a service, global routing rules choose one per alert.
    service = models.ForeignKey(Service, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="integrations")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=KINDS)
    key_hash = models.CharField(max_length=64, unique=True)
    key = EncryptedTextField()
    # Per kind: field mapping, default severity, e-mail rules, heartbeat interval and grace,
    # security marking and rate limit. Checked by alerts.options when written.
    options = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return f"{self.name} ({self.kind})"


class Alert(models.Model):
    TRIGGERED, ACKNOWLEDGED, RESOLVED = "triggered", "acknowledged", "resolved"
    STATUSES = [(TRIGGERED, "Triggered"), (ACKNOWLEDGED, "Acknowledged"), (RESOLVED, "Resolved")]
    OPEN = (TRIGGERED, ACKNOWLEDGED)
    CRITICAL, ERROR, WARNING, INFO = "critical", "error", "warning", "info"
    SEVERITIES = [(CRITICAL, "Critical"), (ERROR, "Error"), (WARNING, "Warning"), (INFO, "Info")]
    HIGH_URGENCY = (CRITICAL, ERROR)

    # What the processor made of the alert.
    NEW, PAGED, GROUPED, CORRELATED, SUPPRESSED, HELD, UNROUTED = (
        "new", "paged", "grouped", "correlated", "suppressed", "held", "unrouted")
    HANDLINGS = [
        (NEW, "Not yet handled"),
        (PAGED, "Opened an incident"),
        (GROUPED, "Grouped into an open incident"),
        (CORRELATED, "Symptom of an upstream incident"),
        (SUPPRESSED, "Recorded only"),
        (HELD, "Held until a condition is met"),
        (UNROUTED, "No routing rule matched"),
    ]

    # (The indexes below serve these keys; a repeat rewrites no index it need not: see Meta.)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts",
                                db_index=False)
    integration = models.ForeignKey(Integration, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="alerts")
    incident = models.ForeignKey(Incident, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts",
                                 db_index=False)
    dedup_key = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=STATUSES, default=TRIGGERED)
    severity = models.CharField(max_length=8, choices=SEVERITIES, default=ERROR)
    summary = models.CharField(max_length=1024)
    source = models.CharField(max_length=255, blank=True, default="")
    component = models.CharField(max_length=255, blank=True, default="")
    group = models.CharField(max_length=255, blank=True, default="")
    alert_class = models.CharField(max_length=255, blank=True, default="")
    labels = models.JSONField(default=dict, blank=True)
    details = models.JSONField(default=dict, blank=True)
    links = models.JSONField(default=list, blank=True)
    raw = models.JSONField(default=dict, blank=True, help_text="The payload as received, capped in size")
    group_key = models.CharField(max_length=255, blank=True, default="",
                                 help_text="What grouping rules compare, e.g. Alertmanager's groupKey")
    security = models.BooleanField(default=False)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    occurrences = models.PositiveIntegerField(default=1)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    handling = models.CharField(max_length=16, choices=HANDLINGS, default=NEW)
    reason = models.CharField(max_length=255, blank=True, default="", help_text="Why suppressed, held or grouped")
    # The processor's bookkeeping for held alerts, e.g. recent firing times for "N times in M minutes".
    sustain = models.JSONField(default=dict, blank=True)
    # Set by the ingestion writer when the processor has something to do (a new alert, a status
    # change, a repeat of an alert without an incident); cleared by the processor.
    dirty = models.BooleanField(default=True)

    class Meta:
        ordering = ["-id"]  # newest first; not by last_seen, which every repeat changes
        constraints = [
            models.UniqueConstraint(fields=["service", "dedup_key"], condition=Q(status__in=["triggered", "acknowledged"]),
                                    name="alert_open_dedup_key"),
            # Alerts no routing rule placed dedup within their integration instead.
            models.UniqueConstraint(fields=["integration", "dedup_key"],
                                    condition=Q(service__isnull=True, status__in=["triggered", "acknowledged"]),
                                    name="alert_unrouted_dedup_key"),
        ]
        indexes = [
            models.Index(fields=["id"], condition=Q(dirty=True), name="alert_dirty"),
            models.Index(fields=["service", "-id"], name="alert_service_recent"),
            models.Index(fields=["incident"], name="alert_incident"),
        ]

    def __str__(self):
        return f"{self.dedup_key}: {self.summary}"

    @property
    def urgency(self):
        return Incident.HIGH if self.severity in self.HIGH_URGENCY else Incident.LOW


class ServiceAlertSettings(models.Model):
    """How a service's alerts become incidents. A service without a row uses the defaults."""

    NONE, BY_KEY, INTELLIGENT = "none", "key", "intelligent"
    GROUPINGS = [
        (NONE, "One incident per alert"),
        (BY_KEY, "One incident per group key (chosen label values) within the window"),
        (INTELLIGENT, "Same service, a matching label, within the window"),
    ]

    service = models.OneToOneField(Service, on_delete=models.CASCADE, related_name="alert_settings")
    grouping = models.CharField(max_length=16, choices=GROUPINGS, default=NONE)
    group_labels = models.JSONField(default=list, blank=True, help_text="Label names compared by grouping")
    group_window_minutes = models.PositiveIntegerField(default=10)
    resolve_with_alerts = models.BooleanField(default=True, help_text="Resolve the incident when all its alerts are")
    suppress_dependents = models.BooleanField(
        default=True, help_text="An alert whose upstream dependency has an open incident joins it without paging")
    # Sustained degradation (E5): open an incident only if...
    min_occurrences = models.PositiveIntegerField(null=True, blank=True, help_text="...it fires N times")
    occurrence_window_minutes = models.PositiveIntegerField(null=True, blank=True, help_text="...within M minutes")
    open_for_minutes = models.PositiveIntegerField(null=True, blank=True, help_text="...or stays open X minutes")
    baseline_deviations = models.FloatField(null=True, blank=True,
                                            help_text="...or the alert rate exceeds its baseline by k deviations")
    baseline_window_minutes = models.PositiveIntegerField(default=60)
    # Flood control: past this many incidents opened within the window, new alerts of the service
    # join its newest open incident in bulk instead of each opening (and paging for) another.
    flood_limit = models.PositiveIntegerField(null=True, blank=True, default=20,
                                              help_text="Incidents per window before a flood; none: no limit")
    flood_window_minutes = models.PositiveIntegerField(default=10)
    link_templates = models.JSONField(default=list, blank=True,
                                      help_text='[{"text": …, "href": "https://…{{labels.host}}"}]')
    updated_at = models.DateTimeField(default=timezone.now)


class RoutingRule(models.Model):
    """Global routing (E3): for integrations bound to no service; ordered, first match wins."""

    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=120)
    # [{"label": "team", "op": "=", "value": "db"}, …] plus optional severities and a source pattern.
    matchers = models.JSONField(default=list, blank=True)
    severities = models.JSONField(default=list, blank=True)
    source_pattern = models.CharField(max_length=255, blank=True, default="")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="routing_rules")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]


class InhibitionRule(models.Model):
    """Alertmanager-style inhibition: while an open alert matches `source_matchers`, alerts that
    match `target_matchers` (and agree on the `equal` labels) are recorded but do not page."""

    name = models.CharField(max_length=120)
    source_matchers = models.JSONField(default=list)
    target_matchers = models.JSONField(default=list)
    equal = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)


class MaintenanceWindow(models.Model):
    """While a window is on, the services' alerts are recorded and visible but page nobody.
    One-off, or recurring by an RFC 5545 RRULE in the window's own time zone."""

    name = models.CharField(max_length=120)
    services = models.ManyToManyField(Service, related_name="maintenance_windows")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    time_zone = models.CharField(max_length=64, default="UTC")
    recurrence = models.CharField(max_length=255, blank=True, default="", help_text="RRULE, e.g. FREQ=WEEKLY;BYDAY=SU")
    reason = models.CharField(max_length=255, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at", "id"]


class SuppressionRule(models.Model):
    """Peak-hour rules: alerts of the given severities inside a weekly time window (local time)
    are recorded only, or held and paged after the window if still open."""

    RECORD, HOLD = "record", "hold"
    ACTIONS = [(RECORD, "Record only"), (HOLD, "Hold, page after the window if still open")]

    name = models.CharField(max_length=120)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="suppression_rules", help_text="None: every service")
    severities = models.JSONField(default=list)
    weekdays = models.JSONField(default=list, help_text="0 = Monday … 6 = Sunday")
    start_time = models.TimeField()
    end_time = models.TimeField()
    time_zone = models.CharField(max_length=64, default="UTC")
    action = models.CharField(max_length=8, choices=ACTIONS, default=RECORD)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)


class Heartbeat(models.Model):
    """The expected pings of a heartbeat integration (E1, ER2's fallback detection)."""

    integration = models.OneToOneField(Integration, on_delete=models.CASCADE, related_name="heartbeat")
    interval_seconds = models.PositiveIntegerField(default=300)
    grace_seconds = models.PositiveIntegerField(default=60)
    last_ping_at = models.DateTimeField(null=True, blank=True)
    expected_by = models.DateTimeField(null=True, blank=True)
    missing = models.BooleanField(default=False)


class OutboundWebhook(models.Model):
    """E7: incident state changes posted to a SIEM or ticketing system, HMAC-signed, retried."""

    name = models.CharField(max_length=120)
    url = models.URLField(max_length=1000)
    secret = EncryptedTextField()
    events = models.JSONField(default=list, blank=True, help_text="Empty: every state change")
    services = models.ManyToManyField(Service, blank=True, related_name="+", help_text="Empty: every service")
    security_only = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
