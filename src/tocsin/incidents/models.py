"""Incidents: what broke, who owns it, where it stands, and its timeline."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from tocsin.catalog.models import Service
from tocsin.directory.models import Person


class Priority(models.Model):
    """A placeholder scale (P1 … P5) until the priority matrix arrives."""

    name = models.CharField(max_length=32, unique=True)
    rank = models.PositiveSmallIntegerField(unique=True, help_text="1 is the most urgent")
    description = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["rank"]

    def __str__(self):
        return self.name


class IncidentCounter(models.Model):
    """One row: the last incident number handed out. Numbers are short, for humans (#42)."""

    value = models.PositiveIntegerField(default=0)


class Incident(models.Model):
    TRIGGERED, ACKNOWLEDGED, RESOLVED = "triggered", "acknowledged", "resolved"
    STATUSES = [(TRIGGERED, "Triggered"), (ACKNOWLEDGED, "Acknowledged"), (RESOLVED, "Resolved")]
    OPEN = (TRIGGERED, ACKNOWLEDGED)
    HIGH, LOW = "high", "low"
    URGENCIES = [(HIGH, "High"), (LOW, "Low")]

    number = models.PositiveIntegerField(unique=True)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="incidents")
    related_services = models.ManyToManyField(Service, blank=True, related_name="related_incidents")
    title = models.CharField(max_length=255)
    details = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=STATUSES, default=TRIGGERED)
    urgency = models.CharField(max_length=8, choices=URGENCIES, default=HIGH)
    priority = models.ForeignKey(Priority, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assigned_to = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="assigned_incidents")
    source = models.CharField(max_length=32, default="manual", help_text="manual, alert, api …")
    # The alert key this incident answers; once it is resolved, the key opens a new incident.
    alert_key = models.CharField(max_length=255, blank=True, default="")
    # Set when escalation reached its final fallback (or nobody at all): shown loudly.
    unpaged = models.BooleanField(default=False)
    # Security incidents (E7): seen only by security officers, admins and their own responders,
    # and flagged until someone gives them the extra review they need.
    security = models.BooleanField(default=False)
    security_category = models.CharField(max_length=64, blank=True, default="")
    needs_review = models.BooleanField(default=False)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="incident_status_created"),
            models.Index(fields=["service", "status", "-created_at"], name="incident_service_status"),
            models.Index(fields=["assigned_to", "status"], name="incident_assignee_status"),
            models.Index(fields=["service", "alert_key"], name="incident_service_key"),
        ]

    def __str__(self):
        return f"#{self.number} {self.title}"

    @property
    def reference(self):
        return f"#{self.number}"

    @property
    def is_open(self):
        return self.status in self.OPEN


class Responder(models.Model):
    """Someone this incident involves: assigned, paged by escalation, or added by hand. Responders of
    an open incident may see each other's contact details (need-to-know)."""

    ASSIGNED, PAGED, ADDED = "assigned", "paged", "added"
    REASONS = [(ASSIGNED, "Assigned"), (PAGED, "Paged"), (ADDED, "Added by hand")]

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="responders")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="responder_of")
    reason = models.CharField(max_length=16, choices=REASONS)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "person"], name="responder_once")]
        indexes = [models.Index(fields=["person", "incident"], name="responder_person")]


class TimelineEntry(models.Model):
    CREATED, ESCALATED, NOTIFIED, FOLLOW_UP = "created", "escalated", "notified", "follow_up"
    ACKNOWLEDGED, UNACKNOWLEDGED, SNOOZED = "acknowledged", "unacknowledged", "snoozed"
    REASSIGNED, RESPONDERS, RESOLVED, NOTE, UNPAGED = "reassigned", "responders", "resolved", "note", "unpaged"
    KINDS = [
        (CREATED, "Created"), (ESCALATED, "Escalated"), (NOTIFIED, "Notified"), (FOLLOW_UP, "Follow-up"),
        (ACKNOWLEDGED, "Acknowledged"), (UNACKNOWLEDGED, "Re-triggered"), (SNOOZED, "Snoozed"),
        (REASSIGNED, "Reassigned"), (RESPONDERS, "Responders added"), (RESOLVED, "Resolved"), (NOTE, "Note"),
        (UNPAGED, "Nobody acknowledged"),
    ]

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=16, choices=KINDS)
    at = models.DateTimeField(default=timezone.now)
    actor_type = models.CharField(max_length=16, default="system")
    actor_label = models.CharField(max_length=150, blank=True, default="")
    message = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    # Entries written by the engine carry a key, so a retried step never writes twice.
    key = models.CharField(max_length=200, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["incident", "at"], name="timeline_incident_at")]
