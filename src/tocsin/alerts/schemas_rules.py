"""Shapes of the alert rules on the JSON API: maintenance windows, peak-hour, routing and
inhibition rules, outbound webhooks. Values are checked by the services, which name the field."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from tocsin.core.schemas import MAX_ID, Schema

# Bounded so that a huge number is refused here rather than overflowing a database integer.
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
EARLIEST_YEAR, LATEST_YEAR = 1970, 9000


def _plausible(value: datetime) -> datetime:
    # Far-off years overflow once moved into a time zone or expanded by a recurrence.
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


Moment = Annotated[datetime, AfterValidator(_plausible)]


class Occurrence(Schema):
    starts_at: datetime
    ends_at: datetime


class MaintenanceWindowOut(Schema):
    id: int
    name: str
    services: list[int]
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    recurrence: str
    reason: str
    on_now: bool
    current: Occurrence | None
    next: Occurrence | None = Field(description="The next occurrence to start after now, if any")


class MaintenanceWindowIn(Schema):
    name: str = Field(max_length=120)
    services: list[RowId] = Field(min_length=1, max_length=500)
    starts_at: Moment = Field(description="Without an offset: wall-clock time in time_zone")
    ends_at: Moment
    time_zone: str = Field("UTC", max_length=64)
    recurrence: str = Field("", max_length=255, description="RRULE, e.g. FREQ=WEEKLY;BYDAY=SU")
    reason: str = Field("", max_length=255)


class SuppressionRuleOut(Schema):
    id: int
    name: str
    service: int | None
    severities: list[str]
    weekdays: list[int]
    start_time: str
    end_time: str
    time_zone: str
    action: str
    enabled: bool


class SuppressionRuleIn(Schema):
    name: str = Field(max_length=120)
    service: RowId | None = Field(None, description="None: every service")
    severities: list[str] = Field(default_factory=list, max_length=4, description="Empty: every severity")
    weekdays: list[int] = Field(default_factory=list, max_length=7, description="0 = Monday … 6 = Sunday; empty: daily")
    start_time: str = Field(max_length=8, description="HH:MM local time")
    end_time: str = Field(max_length=8, description="HH:MM; not after the start crosses midnight")
    time_zone: str = Field("UTC", max_length=64)
    action: str = Field("record", max_length=8, description="record, or hold (page after the window if still open)")
    enabled: bool = True


class SuppressionRulePatch(Schema):
    name: str | None = Field(None, max_length=120)
    service: RowId | None = None
    severities: list[str] | None = Field(None, max_length=4)
    weekdays: list[int] | None = Field(None, max_length=7)
    start_time: str | None = Field(None, max_length=8)
    end_time: str | None = Field(None, max_length=8)
    time_zone: str | None = Field(None, max_length=64)
    action: str | None = Field(None, max_length=8)
    enabled: bool | None = None


Matchers = list[dict] | str


class RoutingRuleOut(Schema):
    id: int
    position: int
    name: str
    service: int
    matchers: list[dict]
    matchers_text: str
    severities: list[str]
    source_pattern: str
    enabled: bool


class RoutingRuleIn(Schema):
    name: str = Field(max_length=120)
    service: RowId
    matchers: Matchers = Field(default_factory=list,
                               description='[{"label", "op", "value"}] or the text form team="db", severity=~"crit.*"')
    severities: list[str] = Field(default_factory=list, max_length=4)
    source_pattern: str = Field("", max_length=255)
    position: int | None = Field(None, description="Lower first; without it the rule goes last")
    enabled: bool = True


class RoutingRulePatch(Schema):
    name: str | None = Field(None, max_length=120)
    service: RowId | None = None
    matchers: Matchers | None = None
    severities: list[str] | None = Field(None, max_length=4)
    source_pattern: str | None = Field(None, max_length=255)
    position: int | None = None
    enabled: bool | None = None


class InhibitionRuleOut(Schema):
    id: int
    name: str
    source_matchers: list[dict]
    target_matchers: list[dict]
    source_text: str
    target_text: str
    equal: list[str]
    enabled: bool


class InhibitionRuleIn(Schema):
    name: str = Field(max_length=120)
    source_matchers: Matchers
    target_matchers: Matchers
    equal: list[str] = Field(default_factory=list, max_length=20)
    enabled: bool = True


class InhibitionRulePatch(Schema):
    name: str | None = Field(None, max_length=120)
    source_matchers: Matchers | None = None
    target_matchers: Matchers | None = None
    equal: list[str] | None = Field(None, max_length=20)
    enabled: bool | None = None


class OutboundWebhookOut(Schema):
    id: int
    name: str
    url: str
    events: list[str]
    services: list[int]
    security_only: bool
    enabled: bool
    created_at: datetime


class OutboundWebhookCreated(OutboundWebhookOut):
    secret: str = Field(description="The signing secret; shown this once")


class OutboundWebhookIn(Schema):
    name: str = Field(max_length=120)
    url: str = Field(max_length=1000)
    events: list[str] = Field(default_factory=list, max_length=10, description="Empty: every state change")
    services: list[RowId] = Field(default_factory=list, max_length=500, description="Empty: every service")
    security_only: bool = False
    enabled: bool = True
