"""Records of HR/IdP imports: one SyncRun per import, one SyncConflict per disputed field."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tocsin.core.fields import EncryptedTextField

__all__ = ["SyncConflict", "SyncRun"]


class SyncRun(models.Model):
    """One import of an HR file, by hand (`csv`) or scheduled (`sync`). Counts only: no personal data."""

    OK, FAILED, REFUSED = "ok", "failed", "refused"
    STATUSES = [(OK, "Applied"), (FAILED, "Invalid file, nothing written"), (REFUSED, "Refused, nothing written")]

    source = models.CharField(max_length=32)
    via = models.CharField(max_length=8, default="csv")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=STATUSES, default=OK)
    checksum = models.CharField(max_length=64, blank=True, default="")
    counts = models.JSONField(default=dict, blank=True)
    problem = models.TextField(blank=True, default="", help_text="Why nothing was written; never holds values")

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["source", "status", "started_at"])]


class SyncConflict(models.Model):
    """A field that HR wants to change but that was edited locally since the last sync, or that
    the identity provider set differently. Waits for a steward: keep local or take HR."""

    LOCAL_EDIT, IDP = "local_edit", "idp"
    KINDS = [(LOCAL_EDIT, "Edited locally since the last sync"), (IDP, "HR and the identity provider disagree")]
    PENDING, KEPT_LOCAL, TOOK_HR, SUPERSEDED = "pending", "kept_local", "took_hr", "superseded"
    STATUSES = [
        (PENDING, "Waiting for a steward"), (KEPT_LOCAL, "Kept the local value"),
        (TOOK_HR, "Took the HR value"), (SUPERSEDED, "Superseded"),
    ]

    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="conflicts")
    person = models.ForeignKey("directory.Person", on_delete=models.CASCADE, related_name="sync_conflicts")
    source = models.CharField(max_length=32)
    field = models.CharField(max_length=16)
    kind = models.CharField(max_length=16, choices=KINDS)
    local_source = models.CharField(max_length=16, blank=True, default="", help_text="ui, api or scim")
    # Both values are personal data: encrypted, and compared through the digest only.
    hr_value = EncryptedTextField(blank=True, default="")
    hr_digest = models.CharField(max_length=64)
    local_value = EncryptedTextField(blank=True, default="")
    detected_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-detected_at", "-pk"]
        indexes = [models.Index(fields=["source", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "source", "field"], condition=Q(status="pending"), name="sync_conflict_one_pending"
            )
        ]
