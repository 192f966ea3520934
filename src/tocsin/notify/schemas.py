"""Shapes of the notify JSON API. Values are checked by the services, which name the field."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator

from tocsin.core.schemas import MAX_ID, Schema

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


def storable(value):
    """`value`, or ValueError when some text in it, however deeply nested (settings are free JSON),
    is something PostgreSQL cannot store: a NUL character or a lone surrogate."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text (it holds a lone surrogate)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            storable(key)
            storable(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            storable(item)
    return value


class StorableIn(Schema):
    """An input whose text, also inside JSON objects, can be stored as given."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value):
        return storable(value)


class RuleIn(StorableIn):
    method: RowId
    delay_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 0


class RulesIn(StorableIn):
    rules: Annotated[list[RuleIn], Field(max_length=10)]


class RuleOut(Schema):
    position: int
    method: int
    kind: str
    destination: str
    delay_minutes: int


class ChainOut(Schema):
    urgency: str
    custom: bool = Field(description="False: the default chain, built from the person's methods")
    rules: list[RuleOut]


class ProviderIn(StorableIn):
    name: Annotated[str, Field(min_length=1, max_length=80)]
    kind: str
    channels: list[str]
    priority: Annotated[int, Field(ge=0, le=1000)] = 10
    settings: dict = {}
    secrets: dict | None = Field(None, description="Credentials; stored encrypted and never shown again. The "
                                 "target URL of a slack, teams, webhook or apprise provider is one: secrets.url")
    enabled: bool = True
    rate_per_minute: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    max_concurrent: Annotated[int, Field(ge=0, le=10_000)] = 0


class ProviderPatch(StorableIn):
    """Only the fields given change; null is the same as leaving a field out."""

    priority: Annotated[int, Field(ge=0, le=1000)] | None = None
    settings: dict | None = None
    secrets: dict | None = Field(None, description="Replaces the stored credentials; a slack, teams, webhook or "
                                 "apprise provider keeps its URL unless they name url ('' forgets it)")
    enabled: bool | None = None
    rate_per_minute: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    max_concurrent: Annotated[int, Field(ge=0, le=10_000)] | None = None


class ProviderOut(Schema):
    id: int
    name: str
    kind: str
    channels: list[str]
    priority: int
    settings: dict
    has_secrets: bool
    enabled: bool
    rate_per_minute: int
    max_concurrent: int
    healthy: bool
    health_error: str
    health_checked_at: datetime | None


class TestSendIn(StorableIn):
    channel: Literal["email", "sms", "voice", "chat", "webhook"]
    to: Annotated[str, Field(min_length=1, max_length=500)]


class TestSendOut(Schema):
    status: str
    provider_message_id: str
    error: str
    latency_ms: int


class AttemptOut(Schema):
    id: int
    person: str
    channel: str
    destination: str
    provider: str
    failover_from: str
    status: str
    tries: int
    due_at: datetime
    sent_at: datetime | None
    finished_at: datetime | None
    latency_ms: int | None
    error: str
