"""Directory data: people, sites, organisational roles and their holders, contact methods,
delegations, consent, stewardship and just-in-time access grants."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from tocsin.core.fields import EncryptedTextField
from tocsin.core.models import Team


def exactly_one_of(*fields):
    """A check that exactly one of the given foreign keys is set."""
    condition = Q()
    for chosen in fields:
        condition |= Q(**{f"{name}__isnull": name != chosen for name in fields})
    return condition


class Region(models.Model):
    """A group of sites that share location-specific protocols, such as EMEA or AMER."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Site(models.Model):
    """A place where people work or services run: an office, a data centre, a cloud region."""

    OFFICE, DATA_CENTRE, CLOUD_REGION = "office", "data-centre", "cloud-region"
    KINDS = [(OFFICE, "Office"), (DATA_CENTRE, "Data centre"), (CLOUD_REGION, "Cloud region")]

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.SET_NULL, related_name="sites")
    kind = models.CharField(max_length=16, choices=KINDS, default=OFFICE)
    address = models.TextField(blank=True, default="")
    latitude = models.DecimalField(
        max_digits=8, decimal_places=5, null=True, blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        max_digits=8, decimal_places=5, null=True, blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    time_zone = models.CharField(max_length=64, default="UTC")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90), name="site_latitude_range"
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="site_longitude_range",
            ),
        ]

    def __str__(self):
        return self.name


class Person(models.Model):
    """Someone who may need to be reached: staff, on-call engineers, executives, vendors.
    Not every person has a login; home addresses and family details have no field on purpose."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="person"
    )
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, default="UTC")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="people")
    tags = models.JSONField(default=list, blank=True, help_text="Expertise, such as 'postgres' or 'bgp'")
    teams = models.ManyToManyField(Team, blank=True, related_name="people")
    is_active = models.BooleanField(default=True)
    organisation = models.CharField(max_length=200, blank=True, default="", help_text="For vendors and third parties")
    is_vendor = models.BooleanField(default=False)
    support_sla = models.CharField(max_length=200, blank=True, default="", help_text="For example '4 h response, 24/7'")
    last_validated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    anonymised_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(m2m_fields=[teams])

    class Meta:
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["is_active", "name"])]

    def __str__(self):
        return self.name


class ExternalId(models.Model):
    """The id a person has in an authoritative source (an HR system, an identity provider)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="external_ids")
    source = models.CharField(max_length=32)
    # For identifiers that are personal data (an identity provider's userName is usually an
    # e-mail address), `value` holds a keyed digest for lookups and `sealed` the encrypted original.
    value = models.CharField(max_length=200)
    sealed = EncryptedTextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "value"], name="external_id_unique"),
            models.UniqueConstraint(fields=["person", "source"], name="external_id_one_per_source"),
        ]


class OrgRole(models.Model):
    """An organisational role such as 'IT Manager' or 'Network on-call'; resolves to its holder."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True, default="")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="org_roles")
    critical = models.BooleanField(default=False, help_text="Holders must meet the minimum-methods rule")
    hours = models.CharField(max_length=120, blank=True, default="", help_text="For example '24/7' or 'Mon-Fri 08-18'")
    response_commitment = models.CharField(max_length=120, blank=True, default="", help_text="For example '15 min'")
    sheet_level = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Position on the emergency contact sheet (1 = first to call)"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class RoleHolding(models.Model):
    """A person holds a role from `starts_at` until `ends_at` (open-ended when null)."""

    role = models.ForeignKey(OrgRole, on_delete=models.CASCADE, related_name="holdings")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="holdings")
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["role", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")), name="holding_ends_after_start"
            )
        ]

    @staticmethod
    def current(at):
        return Q(starts_at__lte=at) & (Q(ends_at__isnull=True) | Q(ends_at__gt=at))


class Delegation(models.Model):
    """While `delegator` is away, their roles and pages go to `delegate`."""

    delegator = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="delegations_given")
    delegate = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="delegations_taken")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="delegation_ends_after_start"),
            models.CheckConstraint(condition=~Q(delegator=models.F("delegate")), name="delegation_not_to_self"),
        ]

    @staticmethod
    def current(at):
        return Q(starts_at__lte=at, ends_at__gt=at)


class ContactMethod(models.Model):
    """One way to reach a person, or a shared channel of a role or a team (a 24/7 hotline,
    a shared mailbox). The value is encrypted; `value_index` finds it (SMS and e-mail replies)."""

    SMS, VOICE, EMAIL, ALT_EMAIL, SATELLITE, CHAT, WEBHOOK = (
        "sms", "voice", "email", "alt_email", "satellite", "chat", "webhook",
    )
    KINDS = [
        (SMS, "Mobile / SMS"), (VOICE, "Voice"), (EMAIL, "E-mail"), (ALT_EMAIL, "Alternate e-mail"),
        (SATELLITE, "Satellite phone"), (CHAT, "Chat handle"), (WEBHOOK, "Webhook"),
    ]
    ROUTINE, EMERGENCY_ONLY = "routine", "emergency_only"
    USAGES = [(ROUTINE, "Routine and emergencies"), (EMERGENCY_ONLY, "Emergencies only")]

    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="methods")
    role = models.ForeignKey(OrgRole, null=True, blank=True, on_delete=models.CASCADE, related_name="methods")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="shared_methods")
    kind = models.CharField(max_length=16, choices=KINDS)
    value = EncryptedTextField()
    value_index = models.CharField(max_length=64, db_index=True)
    label = models.CharField(max_length=80, blank=True, default="")
    order = models.PositiveSmallIntegerField(default=0)
    verified = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    availability = models.CharField(max_length=120, default="24/7")
    usage = models.CharField(max_length=16, choices=USAGES, default=ROUTINE)
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.CheckConstraint(condition=exactly_one_of("person", "role", "team"), name="method_has_one_owner")
        ]

    @property
    def owner(self):
        return self.person or self.role or self.team


class Consent(models.Model):
    """A person's consent to a purpose, such as being contacted in emergencies."""

    EMERGENCY_CONTACT = "emergency_contact"
    ROUTINE_PAGING = "routine_paging"
    PURPOSES = [(EMERGENCY_CONTACT, "Emergency contact"), (ROUTINE_PAGING, "Routine on-call paging")]

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=32, choices=PURPOSES)
    given_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=32, default="ui")
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-given_at"]


class Stewardship(models.Model):
    """Who keeps a team's contact data right, and how often it must be re-validated."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="stewardship")
    steward = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    validation_interval_days = models.PositiveSmallIntegerField(default=90)


class AccessGrant(models.Model):
    """Break-glass: a time-limited, reasoned right to see contact values outside one's need-to-know."""

    PENDING, ACTIVE, DENIED, REVOKED = "pending", "active", "denied", "revoked"
    STATUSES = [(PENDING, "Waiting for approval"), (ACTIVE, "Approved"), (DENIED, "Denied"), (REVOKED, "Revoked")]

    grantee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_grants")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    role = models.ForeignKey(OrgRole, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    requested_at = models.DateTimeField(default=timezone.now)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(condition=exactly_one_of("person", "team", "role"), name="grant_has_one_scope")
        ]

    @staticmethod
    def current(at):
        return Q(status=AccessGrant.ACTIVE, starts_at__lte=at, ends_at__gt=at)

    @property
    def scope_label(self):
        if self.person_id:
            return f"person {self.person}"
        if self.team_id:
            return f"team {self.team}"
        return f"role {self.role}"


class ContactPolicy(models.Model):
    """Installation-wide rules for contact data (one row; `ContactPolicy.get()` creates it)."""

    critical_min_verified = models.PositiveSmallIntegerField(
        default=3, help_text="Verified methods a holder of a critical role needs"
    )
    critical_min_kinds = models.PositiveSmallIntegerField(default=2, help_text="...of at least this many kinds")
    grant_self_approve_roles = models.JSONField(
        default=list, blank=True, help_text="Roles whose grant requests take effect without an approver"
    )
    grant_max_minutes = models.PositiveIntegerField(default=8 * 60)

    @classmethod
    def get(cls):
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy
from .models_breach import *  # noqa: E402,F401,F403
from .models_sync import *  # noqa: E402,F401,F403
