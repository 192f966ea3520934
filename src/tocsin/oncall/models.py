"""On-call data: schedules, their layers (rotations), participants, overrides, shift swaps
and the secret calendar feeds. Who is on call is computed from these when read (timeline.py)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from tocsin.core.models import Team
from tocsin.directory.models import OrgRole, Person, exactly_one_of

# Re-exported: Django registers a model when the app's models module imports it, and callers
# write `from .models import Announcement`; it has a file of its own only to keep this one small.
from .models_announcements import Announcement  # noqa: F401

__all__ = ["Announcement", "CalendarFeed", "Layer", "Override", "Participant", "Schedule", "ShiftSwap"]

RESERVED_SLUGS = frozenset({"people", "new", "feeds", "swaps"})


class Schedule(models.Model):
    """Who is on call for a team, computed in the schedule's own time zone."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True, default="")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="schedules")
    time_zone = models.CharField(max_length=64, default="UTC")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Layer(models.Model):
    """One rotation of a schedule. Where a higher level has a shift, it hides the levels below."""

    DAILY, WEEKLY, CUSTOM, CALENDAR = "daily", "weekly", "custom", "calendar"
    ROTATIONS = [(DAILY, "Daily"), (WEEKLY, "Weekly"), (CUSTOM, "Custom length"), (CALENDAR, "Imported calendar")]
    HOURS, DAYS = "hours", "days"
    UNITS = [(HOURS, "hours"), (DAYS, "days")]

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="layers")
    name = models.CharField(max_length=120)
    level = models.PositiveSmallIntegerField(help_text="Higher levels override lower ones")
    rotation = models.CharField(max_length=16, choices=ROTATIONS, default=WEEKLY)
    length = models.PositiveSmallIntegerField(default=1, help_text="For custom rotations: shift length in units")
    unit = models.CharField(max_length=8, choices=UNITS, default=DAYS)
    handoff_time = models.TimeField(default="09:00")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True, help_text="The layer stops at the handoff on this day")
    shift_size = models.PositiveSmallIntegerField(default=1, help_text="How many participants are on call at once")
    # [{"days": [0..6] (Monday = 0), "start": "HH:MM", "end": "HH:MM"}]; empty: no restriction.
    restrictions = models.JSONField(default=list, blank=True)
    # Imported calendar layers: the RFC 5545 source and which person each event names.
    calendar = models.TextField(blank=True, default="")
    calendar_people = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["schedule", "-level"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "level"], name="layer_level_unique"),
            models.CheckConstraint(condition=Q(shift_size__gte=1), name="layer_shift_size_positive"),
            models.CheckConstraint(condition=Q(length__gte=1), name="layer_length_positive"),
        ]

    def __str__(self):
        return f"{self.schedule} / {self.name}"


class Participant(models.Model):
    """A slot in a rotation: a person, or an organisational role that resolves to its holder."""

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="participants")
    position = models.PositiveSmallIntegerField()
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="rotation_slots")
    role = models.ForeignKey(OrgRole, null=True, blank=True, on_delete=models.CASCADE, related_name="rotation_slots")

    class Meta:
        ordering = ["layer", "position"]
        constraints = [
            models.UniqueConstraint(fields=["layer", "position"], name="participant_position_unique"),
            models.CheckConstraint(condition=exactly_one_of("person", "role"), name="participant_person_or_role"),
        ]

    def __str__(self):
        return str(self.person or self.role)


class Override(models.Model):
    """`person` is on call from `starts_at` to `ends_at`: in place of `replaces` only, or of
    everyone on the schedule when `replaces` is empty. Accepted swaps are recorded as overrides."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="overrides_taken")
    replaces = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="overrides_given"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True, default="")
    swap = models.ForeignKey("ShiftSwap", null=True, blank=True, on_delete=models.CASCADE, related_name="overrides")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["starts_at", "pk"]
        indexes = [models.Index(fields=["schedule", "ends_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="override_ends_after_start"),
        ]


class ShiftSwap(models.Model):
    """`requester` hands the shift [starts_at, ends_at) to `counterpart`, optionally taking
    the counterpart's shift [return_starts_at, return_ends_at) in exchange. It takes effect
    when the counterpart accepts."""

    PENDING, ACCEPTED, DECLINED, CANCELLED = "pending", "accepted", "declined", "cancelled"
    STATUSES = [(PENDING, "Waiting for an answer"), (ACCEPTED, "Accepted"), (DECLINED, "Declined"),
                (CANCELLED, "Cancelled")]

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="swaps")
    requester = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="swaps_requested")
    counterpart = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="swaps_offered")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    return_starts_at = models.DateTimeField(null=True, blank=True)
    return_ends_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="swap_ends_after_start"),
            models.CheckConstraint(condition=~Q(requester=models.F("counterpart")), name="swap_not_with_self"),
            models.CheckConstraint(
                condition=Q(return_starts_at__isnull=True, return_ends_at__isnull=True)
                | Q(return_ends_at__gt=models.F("return_starts_at")),
                name="swap_return_ends_after_start",
            ),
        ]


class CalendarFeed(models.Model):
    """A secret, revocable iCal subscription to one schedule or to one person's shifts."""

    token_digest = models.CharField(max_length=64, unique=True)
    token_prefix = models.CharField(max_length=12)
    schedule = models.ForeignKey(Schedule, null=True, blank=True, on_delete=models.CASCADE, related_name="feeds")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="calendar_feeds")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=exactly_one_of("schedule", "person"), name="feed_schedule_or_person")
        ]
