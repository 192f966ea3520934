"""Shapes of core resources on the JSON API."""

from datetime import UTC, datetime
from typing import Annotated

from ninja import Field, Path
from ninja import Schema as NinjaSchema
from pydantic import AfterValidator, field_validator, model_validator

MAX_ID = 2**63 - 1
ObjectId = Annotated[int, Path(ge=1, le=MAX_ID)]
SlugPath = Annotated[str, Path(pattern=r"^[-a-zA-Z0-9_]+$", max_length=120)]


def _to_utc(value: datetime) -> datetime:
    """Store and compare in UTC; a naive time is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of the supported range of dates") from None


UtcDatetime = Annotated[datetime, AfterValidator(_to_utc)]


def _refuse_nul(value):
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if isinstance(value, list):
        for item in value:
            _refuse_nul(item)
    return value


class Schema(NinjaSchema):
    """Base of every API input and output: text with NUL characters is refused field by field,
    since PostgreSQL cannot store it and no legitimate client sends it."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value):
        return _refuse_nul(value)


class RoleOut(Schema):
    id: int
    role: str
    team: str | None = None


class UserOut(Schema):
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    is_active: bool
    roles: list[RoleOut]
    teams: list[str]


class UserRow(UserOut):
    """A user read straight from a prefetched queryset, so a page serialises only its own rows."""

    @staticmethod
    def resolve_roles(user):
        return [{"id": a.pk, "role": a.role, "team": a.team.slug if a.team else None} for a in user.role_assignments.all()]

    @staticmethod
    def resolve_teams(user):
        return [m.team.slug for m in user.memberships.all()]


class MeOut(UserOut):
    via: str
    permissions: list[str]
    mfa_enabled: bool


class UserIn(Schema):
    username: str = Field(min_length=1, max_length=150)
    email: str = Field(default="", max_length=254)
    password: str | None = Field(default=None, max_length=200)
    first_name: str = Field(default="", max_length=150)
    last_name: str = Field(default="", max_length=150)
    roles: list[str] = []


class UserPatch(Schema):
    email: str | None = Field(default=None, max_length=254)
    first_name: str | None = Field(default=None, max_length=150)
    last_name: str | None = Field(default=None, max_length=150)
    is_active: bool | None = None


class RoleIn(Schema):
    role: str
    team: str | None = Field(default=None, description="Team slug; omit for every team")


class TeamOut(Schema):
    id: int
    name: str
    slug: str
    description: str


class TeamIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)


class MemberIn(Schema):
    user_id: int = Field(ge=1, le=MAX_ID)


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    status: str


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    expires_days: int | None = Field(default=None, ge=1, le=3650)
    scopes: list[str] = []


class TokenCreated(TokenOut):
    token: str = Field(description="The secret; shown only in this response")


class AuditOut(Schema):
    seq: int
    at: datetime
    actor_type: str
    actor_id: str
    actor_label: str
    action: str
    object_type: str
    object_id: str
    summary: dict
    ip: str
    request_id: str
    prev_hash: str
    hash: str


class VerifyOut(Schema):
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    problem: str
    bad_seq: int | None


class PermissionOut(Schema):
    name: str
    description: str
    team_scoped: bool
    interactive: bool
    roles: list[str]


class Patch(Schema):
    """A partial update: omit a field to keep it; `null` is refused where the field cannot be empty."""

    _nullable: tuple = ()

    @model_validator(mode="after")
    def _no_nulls(self):
        bad = [name for name in self.model_fields_set if getattr(self, name) is None and name not in self._nullable]
        if bad:
            raise ValueError(f"{', '.join(sorted(bad))} cannot be null; leave the field out to keep it")
        return self
