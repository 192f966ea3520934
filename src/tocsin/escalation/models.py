"""Escalation policies (versioned), the service → policy link, the running escalation of each
incident, and the notification requests it produces (the outbox the notifier consumes)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from tocsin.catalog.models import Service
from tocsin.core.models import Team
from tocsin.directory.models import Person
from tocsin.incidents.models import Incident


class EscalationPolicy(models.Model):
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True, default="")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             help_text="The team that owns (and may edit) the policy")
    current = models.ForeignKey("PolicyVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "escalation policies"

    def __str__(self):
        return self.name


class PolicyVersion(models.Model):
    """A policy's tiers and timings as they stood; an incident escalates on the version it started
    with. `spec` is validated by escalation.spec before it is saved and never changed after."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    spec = models.JSONField()
    reason = models.TextField(help_text="Why the thresholds changed, for example a post-incident review")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["policy", "-number"]
        constraints = [models.UniqueConstraint(fields=["policy", "number"], name="policy_version_once")]

    def __str__(self):
        return f"{self.policy.name} v{self.number}"


class ServicePolicy(models.Model):
    """Which policy pages for a service, and the service's acknowledgement timeout."""

    service = models.OneToOneField(Service, on_delete=models.CASCADE, related_name="escalation_link")
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.PROTECT, related_name="services")
    ack_timeout_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Acknowledged but unresolved this long: trigger and escalate again")


class Escalation(models.Model):
    """Where an incident's escalation stands. `seq` numbers the one pending step: a step job whose
    seq no longer matches (acknowledged, resolved, escalated by hand since) does nothing."""

    RUNNING, PAUSED, STOPPED, EXHAUSTED = "running", "paused", "stopped", "exhausted"
    STATES = [(RUNNING, "Escalating"), (PAUSED, "Acknowledged"), (STOPPED, "Resolved"),
              (EXHAUSTED, "Fallback paged")]

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="escalation")
    version = models.ForeignKey(PolicyVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=16, choices=STATES, default=RUNNING)
    run = models.PositiveIntegerField(default=0, help_text="Restarts: re-triggered after ack or snooze")
    cycle = models.PositiveIntegerField(default=0, help_text="Repeat of the policy, from 0")
    tier = models.PositiveIntegerField(default=0, help_text="Tier index; one past the last is the fallback")
    follow_up = models.PositiveIntegerField(default=0, help_text="0 is the first page of the tier")
    seq = models.PositiveIntegerField(default=0)
    tier_started_at = models.DateTimeField(null=True, blank=True)
    next_step_at = models.DateTimeField(null=True, blank=True)
    targets = models.JSONField(default=list, blank=True, help_text="Person ids paged by the current tier")
    # Timings frozen at the start (the policy's, or a legacy exception's): {"delays": [...], "follow_up": n}
    timing = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "next_step_at"], name="escalation_state_next")]


class NotificationRequest(models.Model):
    """One durable request to reach one person about one incident: exactly one per key, e.g.
    (incident, run, cycle, tier, follow-up, person). Notifications deliver them."""

    PAGE, FOLLOW_UP, FALLBACK, RESPONDER, REASSIGNED, DEADLINE = (
        "page", "follow_up", "fallback", "responder", "reassigned", "deadline")
    REASONS = [(PAGE, "Tier page"), (FOLLOW_UP, "Follow-up"), (FALLBACK, "Final fallback"),
               (RESPONDER, "Added responder"), (REASSIGNED, "Reassigned"), (DEADLINE, "Resolution deadline")]
    ESCALATION_REASONS = (PAGE, FOLLOW_UP, FALLBACK, DEADLINE)
    PENDING, HANDLED, CANCELLED = "pending", "handled", "cancelled"
    STATES = [(PENDING, "Pending"), (HANDLED, "Handled"), (CANCELLED, "Cancelled")]

    key = models.CharField(max_length=200, unique=True)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notification_requests")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="notification_requests")
    reason = models.CharField(max_length=16, choices=REASONS)
    urgency = models.CharField(max_length=8)
    run = models.PositiveIntegerField(default=0)
    cycle = models.PositiveIntegerField(null=True, blank=True)
    tier = models.PositiveIntegerField(null=True, blank=True)
    follow_up = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=1000, blank=True, default="")
    state = models.CharField(max_length=16, choices=STATES, default=PENDING)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["state", "created_at"], name="notification_request_state"),
            models.Index(fields=["incident", "created_at"], name="notification_request_incident"),
        ]


class RoundRobinPosition(models.Model):
    """Whom a round-robin tier paged last, so the next incident goes to the next person."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="+")
    tier = models.PositiveIntegerField()
    last_person_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["policy", "tier"], name="round_robin_once")]


class TargetAudit(models.Model):
    """A stored run of the role-validation audit, kept for the evidence package."""

    ran_at = models.DateTimeField(default=timezone.now)
    ran_by = models.CharField(max_length=150, default="schedule")
    checked = models.PositiveIntegerField(default=0)
    findings = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-ran_at"]
