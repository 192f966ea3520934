"""Shapes of the notify JSON API. Values are checked by the services, which name the field."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from tocsin.core.schemas import MAX_ID, Schema

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


class RuleIn(Schema):
    method: RowId
    delay_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 0


class RulesIn(Schema):
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


class ProviderIn(Schema):
    name: Annotated[str, Field(min_length=1, max_length=80)]
    kind: str
    channels: list[str]
    priority: Annotated[int, Field(ge=0, le=1000)] = 10
    settings: dict = {}
    secrets: dict | None = Field(None, description="Credentials; stored encrypted and never shown again")
    enabled: bool = True
    rate_per_minute: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    max_concurrent: Annotated[int, Field(ge=0, le=10_000)] = 0


class ProviderPatch(Schema):
    priority: Annotated[int, Field(ge=0, le=1000)] | None = None
    settings: dict | None = None
    secrets: dict | None = None
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


class TestSendIn(Schema):
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
