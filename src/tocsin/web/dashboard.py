"""The dashboard's read model: open incidents with where their escalation stands, and who is on call now."""

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Case, Count, Min, Value, When

from tocsin.escalation.models import Escalation, NotificationRequest
from tocsin.incidents.models import Incident
from tocsin.incidents.selectors import visible
from tocsin.notify.models import SyntheticCheck
from tocsin.notify.sla import breaches
from tocsin.oncall.models import Schedule
from tocsin.oncall.selectors import oncall_everywhere

MAX_ROWS = 100
MAX_PAGED_SHOWN = 6
# Triggered before acknowledged, high urgency before low, then the newest first.


@dataclass
class Paged:
    name: str
    pages: int
    first_at: datetime
    current: bool  # among the people of the tier paged last


@dataclass
class Stage:
    """Where an escalation stands, in words a responder reads at a glance."""

    label: str
    tier: int | None = None  # 1-based, the tier paged last
    tiers: int = 0
    path: str = ""
    cycle: int = 0
    next_step_at: datetime | None = None
    next_step: str = ""

    @property
    def due_iso(self):
        return iso(self.next_step_at)

    def due_in(self, now):
        """Whole seconds until the next step (0 once it is due)."""
        return max(0, math.ceil((self.next_step_at - now).total_seconds())) if self.next_step_at else None


def iso(moment):
    """UTC with milliseconds, as every browser parses it (for the page's countdowns)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z") if moment else ""


@dataclass
class Row:
    incident: Incident
    stage: Stage
    due_in: int | None = None
    paged: list = field(default_factory=list)
    paged_hidden: int = 0


@dataclass
class Board:
    rows: list
    more: bool  # open incidents beyond the rows shown
    now: datetime

    @property
    def now_iso(self):
        return iso(self.now)


def _tier_path(escalation, index):
    if escalation.version is None:
        return ""
    tiers = escalation.version.spec.get("tiers", [])
    return tiers[index].get("path", "technical") if 0 <= index < len(tiers) else ""


def _last_paged(escalation, tiers):
    """(cycle, tier) of the tier paged last. The escalation row holds the *next* step, so the tier
    paged last is that one for a follow-up, else the tier before it (the previous repeat's last
    tier when the next step starts a repeat). None before the first page of a run."""
    if escalation.follow_up > 0:
        return escalation.cycle, escalation.tier
    if escalation.tier >= tiers:  # next is the final fallback
        return escalation.cycle, tiers - 1
    if escalation.tier > 0:
        return escalation.cycle, escalation.tier - 1
    if escalation.cycle > 0:
        return escalation.cycle - 1, tiers - 1
    return None


def _next_step(escalation, tiers):
    if escalation.follow_up > 0:
        return f"follow-up {escalation.follow_up}"
    if escalation.tier >= tiers:
        return "final fallback"
    return f"tier {escalation.tier + 1}" + (f", repeat {escalation.cycle}" if escalation.cycle else "")


def stage_of(incident):
    try:
        escalation = incident.escalation
    except ObjectDoesNotExist:
        escalation = None
    if escalation is None:
        return Stage(label="Not escalating")
    tiers = len(escalation.timing.get("delays", []))
    if escalation.version_id is None:
        label = "No policy: fallback paged" if escalation.state == Escalation.EXHAUSTED else "No policy"
        return Stage(label=label, next_step_at=escalation.next_step_at,
                     next_step="final fallback" if escalation.next_step_at else "")
    if escalation.state == Escalation.EXHAUSTED:
        return Stage(label="Fallback paged", tiers=tiers)
    last = _last_paged(escalation, tiers)
    stage = Stage(label=escalation.get_state_display(), tiers=tiers)
    if last is not None:
        stage.cycle, index = last
        stage.tier, stage.path = index + 1, _tier_path(escalation, index)
    if escalation.state == Escalation.RUNNING:
        stage.label = "Escalating" if last is not None else "Starting"
        stage.next_step_at, stage.next_step = escalation.next_step_at, _next_step(escalation, tiers)
    return stage


def _paged_people(incidents):
    """incident id -> one row per person paged about it in any way, first paged first; one query."""
    rows = (NotificationRequest.objects.filter(incident__in=[i.pk for i in incidents])
            .values("incident_id", "person_id", "person__name")
            .annotate(pages=Count("id"), first_at=Min("created_at"))
            .order_by("incident_id", "first_at", "person_id"))
    found = {}
    for row in rows:
        found.setdefault(row["incident_id"], []).append(row)
    return found


def _current_targets(incident):
    try:
        return set(incident.escalation.targets or ())
    except ObjectDoesNotExist:
        return set()


def open_incidents(now, user, limit=MAX_ROWS):
    """The Board of open incidents `user` may see: two queries, whatever their number."""
    # Ordered in the database before the cut, so an old triggered incident is never pushed off the
    # board by newer acknowledged ones.
    order = (Case(When(status=Incident.TRIGGERED, then=Value(0)), default=Value(1)),
             Case(When(urgency=Incident.HIGH, then=Value(0)), default=Value(1)), "-number")
    found = list(visible(user).filter(status__in=Incident.OPEN)
                 .select_related("service", "assigned_to", "escalation__version")
                 .order_by(*order)[:limit + 1])
    more, found = len(found) > limit, found[:limit]
    paged = _paged_people(found) if found else {}
    rows = []
    for incident in found:
        targets = _current_targets(incident)
        people = [Paged(r["person__name"], r["pages"], r["first_at"], r["person_id"] in targets)
                  for r in paged.get(incident.pk, [])]
        stage = stage_of(incident)
        rows.append(Row(incident, stage, stage.due_in(now), people[:MAX_PAGED_SHOWN],
                        max(0, len(people) - MAX_PAGED_SHOWN)))
    return Board(rows, more, now)


@dataclass
class OnCallNow:
    schedule: Schedule
    people: list  # [OnCall]


def oncall_now(now):
    """Every schedule with the people on call in it at `now` (an empty list: nobody)."""
    schedules = Schedule.objects.select_related("team").order_by("name")
    current = oncall_everywhere(now, schedules)
    return [OnCallNow(schedule, current.get(schedule.pk, [])) for schedule in schedules]


def notification_health(now):
    """What is wrong with getting messages out, for the banner above the incidents: providers
    whose delivery SLA is breached, and failing synthetic checks. Empty when all is well."""
    return {
        "breaches": breaches(now),
        "failing_checks": list(SyntheticCheck.objects.filter(enabled=True, failing=True)
                               .values_list("name", "channel")),
    }
