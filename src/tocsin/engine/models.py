"""The job table: durable work and timers, each row due at `due_at` and claimed under a lease."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Job(models.Model):
    PENDING, DONE, DEAD, CANCELLED = "pending", "done", "dead", "cancelled"
    STATES = [(PENDING, "Pending"), (DONE, "Done"), (DEAD, "Dead letter"), (CANCELLED, "Cancelled")]

    kind = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, blank=True)
    # Unique among pending jobs: scheduling a key that is already pending does nothing.
    key = models.CharField(max_length=200, null=True, blank=True)
    due_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=STATES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=8)
    last_error = models.TextField(blank=True, default="")
    claimed_by = models.CharField(max_length=100, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=Q(state="pending"), name="engine_job_pending_key"),
        ]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(state="pending"), name="engine_job_pending_due"),
            models.Index(fields=["claimed_until"], condition=Q(state="pending", claimed_until__isnull=False),
                         name="engine_job_pending_lease"),
            models.Index(fields=["state", "finished_at"], name="engine_job_state_finished"),
        ]

    def __str__(self):
        return f"{self.kind} #{self.pk} ({self.state}, due {self.due_at:%Y-%m-%d %H:%M:%S})"
