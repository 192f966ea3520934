"""Suspected breaches of the contact store and the notification obligations they bring (A8)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

__all__ = ["SuspectedBreach", "BreachObligation"]


class SuspectedBreach(models.Model):
    """A suspected unauthorised access to contact data, bounded by a time window. The affected
    people are derived at read time from the audit log of reveals and exports in that window."""

    OPEN, CLOSED = "open", "closed"

    description = models.TextField()
    detected_at = models.DateTimeField(default=timezone.now)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    suspect_actor = models.CharField(
        max_length=150, blank=True, default="", help_text="Audit actor label to narrow the search, if known"
    )
    status = models.CharField(max_length=8, default=OPEN, choices=[(OPEN, "Open"), (CLOSED, "Closed")])
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    conclusion = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-detected_at"]


class BreachObligation(models.Model):
    """Something owed after a breach, with its deadline: telling the supervisory authority
    (72 h under GDPR art. 33), the people affected, the data protection officer."""

    AUTHORITY, SUBJECTS, INTERNAL = "authority", "subjects", "internal"
    KINDS = [(AUTHORITY, "Notify the supervisory authority"), (SUBJECTS, "Notify the people affected"),
             (INTERNAL, "Inform the data protection officer")]

    breach = models.ForeignKey(SuspectedBreach, on_delete=models.CASCADE, related_name="obligations")
    kind = models.CharField(max_length=16, choices=KINDS)
    due_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["due_at"]

    @property
    def overdue(self):
        return self.done_at is None and timezone.now() >= self.due_at
