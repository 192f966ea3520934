"""Core data: users, teams, role assignments, API tokens and the audit chain."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from .fields import EncryptedTextField
from .permissions import ROLES

ROLE_CHOICES = list(ROLES.items())


class User(AbstractUser):
    """A login. The e-mail address is personal data, so it is encrypted and found by blind index."""

    email = EncryptedTextField(blank=True, default="")
    email_index = models.CharField(max_length=64, blank=True, default="", db_index=True)

    def save(self, *args, **kwargs):
        from .crypto import blind_index

        self.email_index = blind_index(self.email.strip().lower(), "email") if self.email else ""
        super().save(*args, **kwargs)

    def __str__(self):
        return self.username


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="membership_unique")]


class RoleAssignment(models.Model):
    """A role held by a user, everywhere (team is null) or for one team."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(max_length=32, choices=ROLE_CHOICES)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE)
    granted_at = models.DateTimeField(default=timezone.now)
    granted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "team"], name="role_assignment_unique"),
            models.UniqueConstraint(
                fields=["user", "role"], condition=models.Q(team__isnull=True), name="role_assignment_global_unique"
            ),
        ]


class RolePolicy(models.Model):
    """Per-role settings, such as whether holders must use MFA."""

    role = models.CharField(max_length=32, choices=ROLE_CHOICES, unique=True)
    require_mfa = models.BooleanField(default=False)


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 digest is stored; the secret is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    scopes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def is_usable(self, now=None):
        now = now or timezone.now()
        if self.revoked_at is not None or not self.user.is_active:
            return False
        return self.expires_at is None or now < self.expires_at

    @property
    def status(self):
        if self.revoked_at:
            return "revoked"
        if self.expires_at and timezone.now() >= self.expires_at:
            return "expired"
        return "active"


class AuditEntry(models.Model):
    """One link of the append-only, HMAC-chained audit log. Never updated or deleted:
    database triggers refuse both, and `tocsin audit verify` detects what gets past them."""

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    actor_type = models.CharField(max_length=16)  # user, token, system, anonymous
    actor_id = models.CharField(max_length=64, blank=True, default="")
    actor_label = models.CharField(max_length=150, blank=True, default="")
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    summary = models.JSONField(default=dict)
    ip = models.CharField(max_length=45, blank=True, default="")
    request_id = models.CharField(max_length=64, blank=True, default="")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id"])]


class RetentionRule(models.Model):
    """How long one kind of record is kept before it is purged or anonymised (A6).
    Record types are registered in code (tocsin.core.retention); a row overrides the default."""

    record_type = models.CharField(max_length=80, unique=True)
    days = models.PositiveIntegerField()
    enabled = models.BooleanField(default=True)
