"""Shapes of integrations and alerts on the JSON API. A key appears only in the answer that
creates or rotates it; lists show a short prefix."""

from datetime import datetime
from typing import Any, Literal

from ninja import Field

from tocsin.core.schemas import MAX_ID, Patch, Schema, UtcDatetime

from . import services
from .models import Alert, Integration

Kind = Literal[tuple(kind for kind, _ in Integration.KINDS)]
OPTIONS_HELP = ("Per kind: field mapping (webhook), default severity, e-mail rules, heartbeat interval and "
                "grace, `security` marking and `rate_limit_per_minute`.")


class IntegrationIn(Schema):
    kind: Kind
    name: str = Field(default="", max_length=services.MAX_NAME, description="Defaults to the kind's name")
    options: dict[str, Any] = Field(default_factory=dict, description=OPTIONS_HELP)


class IntegrationPatch(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=services.MAX_NAME)
    options: dict[str, Any] | None = Field(default=None, description=OPTIONS_HELP)
    enabled: bool | None = None


class ServiceRef(Schema):
    id: int
    name: str
    slug: str


class IntegrationOut(Schema):
    id: int
    service: ServiceRef | None
    name: str
    kind: str
    options: dict[str, Any]
    enabled: bool
    key_prefix: str = Field(description="The key's first characters, to tell integrations apart")
    created_at: datetime

    @staticmethod
    def resolve_key_prefix(integration):
        return services.key_prefix(integration)


class IntegrationKeyOut(IntegrationOut):
    key: str = Field(description="The secret key; shown only in this answer")
    endpoints: dict[str, str] = Field(description="Where senders deliver: URLs, or an e-mail address")


class IntegrationRef(Schema):
    id: int
    name: str
    kind: str


class IncidentRef(Schema):
    id: int
    number: int
    title: str
    status: str


class AlertOut(Schema):
    id: int
    service: ServiceRef | None
    integration: IntegrationRef | None
    incident: IncidentRef | None
    dedup_key: str
    status: str
    severity: str
    summary: str
    source: str
    component: str
    group: str
    alert_class: str
    labels: dict[str, Any]
    security: bool
    first_seen: datetime
    last_seen: datetime
    occurrences: int
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    handling: str
    reason: str = Field(description="Why the alert was suppressed, held, grouped or correlated")


class AlertDetailOut(AlertOut):
    details: dict[str, Any]
    links: list[Any]
    group_key: str
    raw: Any = Field(description="The payload as received, capped in size")


class AlertFilters(Schema):
    service: int | None = Field(default=None, ge=1, le=MAX_ID, description="Service id")
    status: Literal[services.STATUS_FILTERS] | None = Field(default=None, description="`open`: triggered or acknowledged")
    handling: Literal[tuple(h for h, _ in Alert.HANDLINGS)] | None = Field(
        default=None, description="What the processor made of it, e.g. `suppressed`")
    severity: Literal[tuple(s for s, _ in Alert.SEVERITIES)] | None = None
    incident: int | None = Field(default=None, ge=1, le=MAX_ID, description="Incident id")
    q: str | None = Field(default=None, max_length=services.MAX_QUERY,
                          description="Text in the summary, source or dedup key")
    since: UtcDatetime | None = Field(default=None, description="Seen at or after")
    until: UtcDatetime | None = Field(default=None, description="First seen before")
