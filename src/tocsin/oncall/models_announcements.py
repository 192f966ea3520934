"""What the on-call announcer has already announced, so each event is sent once across restarts and processes."""

from django.db import models
from django.utils import timezone

__all__ = ["Announcement"]


class Announcement(models.Model):
    """One announced event, inserted before it is sent: the unique key makes a second process
    or a restart skip it. A `checked` row per schedule records how far its timeline was examined."""

    SHIFT_STARTED, HANDOFF, GAP_FOUND, CHECKED = "shift_started", "handoff", "gap_found", "checked"
    KINDS = [(SHIFT_STARTED, "Shift started"), (HANDOFF, "Handoff"), (GAP_FOUND, "Gap found"),
             (CHECKED, "Timeline examined up to")]

    schedule = models.ForeignKey("oncall.Schedule", on_delete=models.CASCADE, related_name="announcements")
    kind = models.CharField(max_length=16, choices=KINDS)
    key = models.CharField(max_length=200, unique=True)
    at = models.DateTimeField(help_text="The instant the event is about")
    # Gaps: where the gap ended as far as the look-ahead saw, so a gap still open later is known.
    until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["schedule", "kind"])]

    def __str__(self):
        return self.key
