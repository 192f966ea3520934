"""What `tocsin check` reports about on-call data: schedules with nobody on call in the next 14 days, and vacancies."""

from django.db.models import Q
from django.utils import timezone

from tocsin.core.config_checks import Finding
from tocsin.core.timezones import zone

from . import selectors
from .models import Participant, Schedule
from .wallclock import local


def _when(instant, schedule):
    tz = zone(schedule.time_zone)
    return f"{local(instant, tz):%Y-%m-%d %H:%M} {instant.astimezone(tz).tzname()}"


def gaps_ahead_findings(now=None):
    now = now or timezone.now()
    horizon = now + selectors.GAP_LOOKAHEAD
    gaps = selectors.gaps_ahead(now=now)
    if not gaps:
        return [Finding("ok", "oncall: every schedule has someone on call for the next 14 days")]
    findings = []
    for schedule in Schedule.objects.filter(pk__in=gaps).order_by("name"):
        found = gaps[schedule.pk]
        first = found[0]
        findings.append(Finding("warning", (
            f"schedule '{schedule.name}' has nobody on call from {_when(first.start, schedule)} "
            f"to {_when(first.end, schedule)}{' or later' if first.end >= horizon else ''} "
            f"({len(found)} gap{'s' if len(found) != 1 else ''} in the next 14 days)"
        )))
    return findings


def vacancy_findings():
    # Only schedules that could have a vacancy: a deactivated participant or a role slot.
    suspects = (Participant.objects.filter(Q(person__is_active=False) | Q(role__isnull=False))
                .values_list("layer__schedule_id", flat=True).distinct())
    vacant = selectors.vacancies_by_schedule(Schedule.objects.filter(pk__in=suspects))
    return [Finding("warning", f"schedule '{schedule.name}' has a vacancy: {problem}")
            for schedule in Schedule.objects.filter(pk__in=list(vacant)).order_by("name")
            for problem in vacant[schedule.pk]]
