"""Providers, notification rules, delivery attempts, acknowledgement tokens, service channels and
message templates."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tocsin.catalog.models import Service
from tocsin.core.fields import EncryptedTextField
from tocsin.core.models import Team
from tocsin.directory.models import ContactMethod, Person
from tocsin.escalation.models import NotificationRequest
from tocsin.incidents.models import Incident

EMAIL, SMS, VOICE, CHAT, WEBHOOK = "email", "sms", "voice", "chat", "webhook"
CHANNELS = [(EMAIL, "E-mail"), (SMS, "SMS"), (VOICE, "Voice"), (CHAT, "Chat"), (WEBHOOK, "Webhook")]
HIGH, LOW = "high", "low"
URGENCIES = [(HIGH, "High"), (LOW, "Low")]


class Provider(models.Model):
    """One account with one sending service. Within a channel, providers are tried by `priority`
    (lowest first): the next one takes over when one fails or its health check does."""

    SMTP, TWILIO, SMS_GATEWAY, SLACK, TEAMS, WEBHOOK_KIND, APPRISE = (
        "smtp", "twilio", "sms_gateway", "slack", "teams", "webhook", "apprise")
    KINDS = [(SMTP, "SMTP e-mail"), (TWILIO, "Twilio SMS and voice"), (SMS_GATEWAY, "HTTP SMS gateway"),
             (SLACK, "Slack incoming webhook"), (TEAMS, "Microsoft Teams workflow"),
             (WEBHOOK_KIND, "Signed webhook"), (APPRISE, "Apprise")]

    name = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=16, choices=KINDS)
    channels = models.JSONField(default=list, help_text="Channels this provider serves, e.g. ['sms', 'voice']")
    priority = models.PositiveSmallIntegerField(default=10, help_text="Lower is tried first within a channel")
    settings = models.JSONField(default=dict, blank=True, help_text="Non-secret settings (base URL, sender…)")
    secrets = EncryptedTextField(blank=True, default="", help_text="JSON of credentials, encrypted at rest")
    enabled = models.BooleanField(default=True)
    rate_per_minute = models.PositiveIntegerField(default=0, help_text="0: no limit of Tocsin's own")
    max_concurrent = models.PositiveIntegerField(default=0, help_text="Calls (or sends) at once; 0: no limit")
    sla_percent = models.DecimalField(max_digits=5, decimal_places=2, default=99)
    sla_seconds = models.PositiveIntegerField(default=60, help_text="Delivered within this long counts for the SLA")
    healthy = models.BooleanField(default=True)
    health_checked_at = models.DateTimeField(null=True, blank=True)
    health_error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["priority", "name"]

    def __str__(self):
        return self.name


class NotificationRule(models.Model):
    """One link of a person's chain for one urgency: use `method` `delay_minutes` after the page."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="notification_rules")
    urgency = models.CharField(max_length=8, choices=URGENCIES)
    position = models.PositiveSmallIntegerField(default=0)
    delay_minutes = models.PositiveIntegerField(default=0)
    method = models.ForeignKey(ContactMethod, on_delete=models.CASCADE, related_name="notification_rules")

    class Meta:
        ordering = ["person", "urgency", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["person", "urgency", "position"], name="notification_rule_once")]


class Attempt(models.Model):
    """One scheduled step of a notification: one message to one contact method (exactly one per
    request and step). Sends are at-least-once: `claimed_until` is the lease of a send under way."""

    SCHEDULED, SENDING, SENT, DELIVERED, FAILED, UNDELIVERED, NO_ANSWER, CANCELLED, BUNDLED, SKIPPED = (
        "scheduled", "sending", "sent", "delivered", "failed", "undelivered", "no_answer", "cancelled", "bundled",
        "skipped")
    STATUSES = [(SCHEDULED, "Scheduled"), (SENDING, "Sending"), (SENT, "Sent"), (DELIVERED, "Delivered"),
                (FAILED, "Failed"), (UNDELIVERED, "Undelivered"), (NO_ANSWER, "No answer"),
                (CANCELLED, "Cancelled"), (BUNDLED, "Sent in a bundle"), (SKIPPED, "Skipped")]
    WAITING = (SCHEDULED, SENDING)
    FAILURES = (FAILED, UNDELIVERED, NO_ANSWER)

    request = models.ForeignKey(NotificationRequest, on_delete=models.CASCADE, related_name="attempts")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="attempts", db_index=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="attempts", db_index=False)
    step = models.PositiveSmallIntegerField(help_text="Position in the person's chain")
    method = models.ForeignKey(ContactMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=16, choices=CHANNELS)
    destination = models.CharField(max_length=120, blank=True, default="", help_text="Masked, for the UI")
    provider = models.CharField(max_length=80, blank=True, default="")
    failover_from = models.CharField(max_length=80, blank=True, default="",
                                     help_text="The provider that failed before this one took the message")
    status = models.CharField(max_length=16, choices=STATUSES, default=SCHEDULED)
    due_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    tries = models.PositiveSmallIntegerField(default=0)
    carrier = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="bundled",
                                help_text="The attempt whose message carried this one (bundling)")
    message_id = models.UUIDField(default=uuid.uuid4, editable=False,
                                  help_text="Our id of the rendered message; the idempotency key sent along")
    subject = models.CharField(max_length=300, blank=True, default="")
    body = models.TextField(blank=True, default="")
    provider_message_id = models.CharField(max_length=120, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True, help_text="Provider's answer to our send")
    error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["request", "step"], name="attempt_once_per_step")]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(status__in=("scheduled", "sending")), name="attempt_waiting"),
            # Sends whose lease lapsed (sending.recover), looked for before every claim.
            models.Index(fields=["claimed_until"], condition=Q(status="sending"), name="attempt_leased"),
            models.Index(fields=["incident", "created_at"], name="attempt_incident"),
            models.Index(fields=["person", "channel", "sent_at"], name="attempt_person_recent"),
            models.Index(fields=["provider_message_id"], condition=~Q(provider_message_id=""),
                         name="attempt_provider_id"),
            models.Index(fields=["provider", "created_at"], name="attempt_provider_created"),
        ]

    @property
    def is_waiting(self):
        return self.status in self.WAITING


class AckToken(models.Model):
    """A signed link's token, bound to one person and one incident; single use, expiring. Only its
    SHA-256 digest is kept."""

    ACKNOWLEDGE, RESOLVE = "ack", "resolve"
    ACTIONS = [(ACKNOWLEDGE, "Acknowledge"), (RESOLVE, "Resolve")]

    digest = models.CharField(max_length=64, unique=True)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=8, choices=ACTIONS)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)


class ServiceChannel(models.Model):
    """A chat room or webhook of a service or a team, told of its incidents' lifecycle."""

    SLACK, TEAMS, WEBHOOK_KIND = "slack", "teams", "webhook"
    KINDS = [(SLACK, "Slack"), (TEAMS, "Microsoft Teams"), (WEBHOOK_KIND, "Signed webhook")]
    EVENTS = ["triggered", "acknowledged", "escalated", "resolved"]

    name = models.CharField(max_length=120)
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.CASCADE, related_name="channels")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=16, choices=KINDS)
    url = EncryptedTextField()
    secret = EncryptedTextField(blank=True, default="", help_text="HMAC key of a signed webhook")
    events = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(
            condition=Q(service__isnull=False, team__isnull=True) | Q(service__isnull=True, team__isnull=False),
            name="service_channel_one_owner")]


class MessageTemplate(models.Model):
    """An administrator's template for one channel and urgency (Jinja2, sandboxed). Without one,
    or when it fails, the built-in template is used."""

    channel = models.CharField(max_length=16, choices=CHANNELS)
    urgency = models.CharField(max_length=8, choices=URGENCIES)
    subject = models.CharField(max_length=300, blank=True, default="")
    body = models.TextField()
    sms_segments = models.PositiveSmallIntegerField(default=1, help_text="SMS: at most this many segments (1 or 2)")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "urgency"], name="message_template_once")]


class MethodVerification(models.Model):
    """A code (or link) sent through a contact method to prove it reaches its owner."""

    method = models.ForeignKey(ContactMethod, on_delete=models.CASCADE, related_name="verifications")
    digest = models.CharField(max_length=64, help_text="SHA-256 of the code or link token")
    expires_at = models.DateTimeField()
    tries = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["digest"], name="method_verification_digest")]


class SyntheticCheck(models.Model):
    """A scheduled end-to-end test of one channel: a message to a designated test contact, then a
    check that it was delivered (and, where the channel allows, acknowledged)."""

    name = models.CharField(max_length=120, unique=True)
    channel = models.CharField(max_length=16, choices=CHANNELS)
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.CASCADE, related_name="checks",
                                 help_text="Empty: whichever provider the channel would use")
    method = models.ForeignKey(ContactMethod, on_delete=models.CASCADE, related_name="+",
                               help_text="The designated test contact")
    interval_minutes = models.PositiveIntegerField(default=60)
    deadline_seconds = models.PositiveIntegerField(default=120, help_text="Delivered within this long, or failing")
    enabled = models.BooleanField(default=True)
    failing = models.BooleanField(default=False)
    last_run_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]


class SyntheticRun(models.Model):
    PENDING, PASSED, FAILED = "pending", "passed", "failed"
    STATUSES = [(PENDING, "Pending"), (PASSED, "Passed"), (FAILED, "Failed")]

    synthetic = models.ForeignKey(SyntheticCheck, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    provider = models.CharField(max_length=80, blank=True, default="")
    provider_message_id = models.CharField(max_length=120, blank=True, default="")
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    acknowledged = models.BooleanField(default=False)
    error = models.CharField(max_length=500, blank=True, default="")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["synthetic", "-started_at"], name="synthetic_run_recent")]
