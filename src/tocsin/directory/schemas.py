"""Shapes of directory resources on the JSON API. Contact values appear masked unless revealed."""

from datetime import datetime

from ninja import Field

from tocsin.core.schemas import MAX_ID, Patch, Schema, UtcDatetime

from .values import mask


class MethodOut(Schema):
    id: int
    kind: str
    label: str
    order: int
    masked_value: str
    verified: bool
    availability: str
    usage: str
    is_active: bool

    @staticmethod
    def resolve_masked_value(method):
        return mask(method.kind, method.value)


class PersonOut(Schema):
    """Read from a Person with site, teams and methods prefetched."""

    id: int
    name: str
    time_zone: str
    site: str | None
    teams: list[str]
    tags: list[str]
    is_active: bool
    is_vendor: bool
    organisation: str
    support_sla: str
    last_validated_at: datetime | None
    methods: list[MethodOut]

    @staticmethod
    def resolve_site(person):
        return person.site.slug if person.site else None

    @staticmethod
    def resolve_teams(person):
        return sorted(team.slug for team in person.teams.all())

    @staticmethod
    def resolve_methods(person):
        return list(person.methods.all())


class PersonIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    time_zone: str = Field(default="UTC", max_length=64)
    site: str | None = Field(default=None, description="Site slug")
    teams: list[str] = Field(default=[], description="Team slugs")
    tags: list[str] = []
    organisation: str = Field(default="", max_length=200)
    is_vendor: bool = False
    support_sla: str = Field(default="", max_length=200)


class PersonPatch(Patch):
    _nullable = ("site",)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    time_zone: str | None = Field(default=None, max_length=64)
    site: str | None = None
    teams: list[str] | None = None
    tags: list[str] | None = None
    organisation: str | None = Field(default=None, max_length=200)
    is_vendor: bool | None = None
    support_sla: str | None = Field(default=None, max_length=200)


class MethodIn(Schema):
    kind: str
    value: str = Field(min_length=1, max_length=500)
    label: str = Field(default="", max_length=80)
    order: int = Field(default=0, ge=0, le=1000)
    availability: str = Field(default="24/7", max_length=120)
    usage: str = "routine"


class MethodPatch(Patch):
    kind: str | None = None
    value: str | None = Field(default=None, min_length=1, max_length=500)
    label: str | None = Field(default=None, max_length=80)
    order: int | None = Field(default=None, ge=0, le=1000)
    availability: str | None = Field(default=None, max_length=120)
    usage: str | None = None
    is_active: bool | None = None


class RevealOut(Schema):
    id: int
    kind: str
    value: str
    basis: str


class VersionOut(Schema):
    history_id: int
    method: int
    at: datetime
    by: str | None
    source: str
    kind: str
    masked_value: str
    verified: bool
    is_active: bool
    change: str


class HolderOut(Schema):
    id: int
    name: str


class RoleOut(Schema):
    id: int
    name: str
    slug: str
    critical: bool
    hours: str
    response_commitment: str
    sheet_level: int | None
    reaches: list[HolderOut]


class RoleIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    critical: bool = False
    hours: str = Field(default="", max_length=120)
    response_commitment: str = Field(default="", max_length=120)
    sheet_level: int | None = Field(default=None, ge=1, le=20)


class HoldingIn(Schema):
    person_id: int = Field(ge=1, le=MAX_ID)
    starts_at: UtcDatetime | None = None
    ends_at: UtcDatetime | None = None


class DelegationIn(Schema):
    delegator_id: int = Field(ge=1, le=MAX_ID)
    delegate_id: int = Field(ge=1, le=MAX_ID)
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    reason: str = Field(default="", max_length=200)


class DelegationOut(Schema):
    id: int
    delegator_id: int
    delegate_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str


class GrantIn(Schema):
    reason: str = Field(min_length=1, max_length=2000)
    duration_minutes: int = Field(ge=1, le=100000)
    person_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    team: str | None = Field(default=None, max_length=120)
    role: str | None = Field(default=None, max_length=120)


class GrantOut(Schema):
    id: int
    grantee: str
    scope: str
    reason: str
    status: str
    requested_at: datetime
    starts_at: datetime | None
    ends_at: datetime | None


class ShortfallOut(Schema):
    person_id: int
    name: str
    roles: list[str]
    verified: int
    kinds: int
    needed_verified: int
    needed_kinds: int


class OverdueOut(Schema):
    person_id: int
    name: str
    team: str
    due_since: datetime | None


class ComplianceOut(Schema):
    below_minimum_methods: list[ShortfallOut]
    overdue_validations: list[OverdueOut]
    coverage_gaps: list[str]


class ConsentIn(Schema):
    purpose: str = Field(max_length=32, description="emergency_contact or routine_paging")


class ConsentOut(Schema):
    id: int
    purpose: str
    given_at: datetime
    source: str
    withdrawn_at: datetime | None
