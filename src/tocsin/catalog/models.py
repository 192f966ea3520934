"""Catalogue data: services with their impact analysis, the dependency edges between them,
and the documented exceptions of legacy systems to the standard escalation timelines."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from tocsin.core.models import Team
from tocsin.directory.models import Person, Site

TIERS = [(1, "Tier 1 (most critical)"), (2, "Tier 2"), (3, "Tier 3"), (4, "Tier 4 (least critical)")]


class Service(models.Model):
    """A technical service (an API, a database, a network) or a business service (what customers
    and staff use), with its owner, criticality tier and business impact analysis."""

    TECHNICAL, BUSINESS = "technical", "business"
    KINDS = [(TECHNICAL, "Technical"), (BUSINESS, "Business")]

    PUBLIC, INTERNAL, CONFIDENTIAL = "public", "internal", "confidential"
    PII, PHI, FINANCIAL = "regulated-pii", "regulated-phi", "regulated-financial"
    SENSITIVITIES = [
        (PUBLIC, "Public"), (INTERNAL, "Internal"), (CONFIDENTIAL, "Confidential"),
        (PII, "Regulated: personal data"), (PHI, "Regulated: health data"), (FINANCIAL, "Regulated: financial data"),
    ]

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    kind = models.CharField(max_length=16, choices=KINDS, default=TECHNICAL)
    # PROTECT: a team that still owns services cannot vanish and leave them unowned silently.
    owner_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="services")
    owner = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_services",
        help_text="The accountable service owner",
    )
    tier = models.PositiveSmallIntegerField(choices=TIERS, default=3)
    description = models.TextField(blank=True, default="")
    sites = models.ManyToManyField(Site, blank=True, related_name="services")
    # Business impact analysis; durations in minutes, empty until assessed.
    rto_minutes = models.PositiveIntegerField(null=True, blank=True)
    rpo_minutes = models.PositiveIntegerField(null=True, blank=True)
    mtpd_minutes = models.PositiveIntegerField(null=True, blank=True)
    data_sensitivity = models.CharField(max_length=24, choices=SENSITIVITIES, default=INTERNAL)
    impact = models.JSONField(default=dict, blank=True, help_text="{category: {horizon: 0-4}}, see catalog.impact")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords(m2m_fields=[sites])

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["tier", "name"])]
        constraints = [
            models.CheckConstraint(condition=Q(tier__gte=1, tier__lte=4), name="service_tier_1_to_4"),
            models.CheckConstraint(
                condition=Q(rto_minutes__isnull=True) | Q(mtpd_minutes__isnull=True)
                | Q(rto_minutes__lte=F("mtpd_minutes")),
                name="service_rto_within_mtpd",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_business(self):
        return self.kind == self.BUSINESS


class Dependency(models.Model):
    """`service` needs `depends_on` to work. For a business service the other side is a technical
    service that supports it; the graph as a whole is kept free of cycles by the services layer."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="dependency_edges")
    # PROTECT: deleting a service others still need would silently drop their recovery step.
    depends_on = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="dependent_edges")
    note = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "depends_on"], name="dependency_unique_pair"),
            models.CheckConstraint(condition=~Q(service=F("depends_on")), name="dependency_not_on_itself"),
        ]


class LegacyException(models.Model):
    """A documented deviation of a legacy system from the standard escalation timelines (C4),
    approved by a second person and reviewed by a set date."""

    PENDING, APPROVED = "pending", "approved"
    STATUSES = [(PENDING, "Waiting for approval"), (APPROVED, "Approved")]

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="legacy_exceptions")
    summary = models.CharField(max_length=200, help_text="The deviation, such as 'vendor answers within 4 h only'")
    ack_minutes = models.PositiveIntegerField(null=True, blank=True, help_text="Exceptional acknowledgement window")
    escalate_after_minutes = models.PositiveIntegerField(null=True, blank=True, help_text="Exceptional escalation delay")
    reason = models.TextField()
    review_on = models.DateField()
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["review_on", "pk"]
        indexes = [models.Index(fields=["status", "review_on"])]
        constraints = [
            # Four eyes: whoever asked for the exception never approves it.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("requested_by")),
                name="legacy_exception_four_eyes",
            ),
        ]

    def __str__(self):
        return f"{self.service}: {self.summary}"

    def overdue(self, today):
        return self.status == self.APPROVED and self.review_on < today
