"""Reads behind the import pages and the sync API: conflicts a principal may decide, runs, people to export."""

from django.db.models import Prefetch

from tocsin.core.permissions import ALL_TEAMS

from .hr_csv import METHOD_COLUMNS
from .hr_plan import show
from .models import ContactMethod, Person, SyncConflict, SyncRun

WRITE = "contacts:write"


def _in_reach(queryset, reach, field="pk"):
    """Restrict to people in the teams of `reach`; people in no team are for ALL_TEAMS only."""
    if reach == ALL_TEAMS:
        return queryset
    members = Person.teams.through.objects.filter(team_id__in=reach).values("person_id")
    return queryset.filter(**{f"{field}__in": members})


def pending_conflicts(reach):
    """Pending conflicts of the people a steward with contacts:write in `reach` may change, oldest first."""
    queryset = SyncConflict.objects.filter(status=SyncConflict.PENDING).select_related("person", "run")
    return _in_reach(queryset, reach, "person_id").order_by("detected_at", "pk")


def conflict_row(conflict):
    """What a steward sees of a conflict: contact values masked, as in the import preview."""
    return {
        "id": conflict.pk, "person_id": conflict.person_id, "person": conflict.person.name,
        "person_active": conflict.person.is_active, "source": conflict.source, "field": conflict.field,
        "kind": conflict.kind, "why": conflict.get_kind_display(), "local_source": conflict.local_source,
        "local": show(conflict.field, conflict.local_value), "hr": show(conflict.field, conflict.hr_value),
        "detected_at": conflict.detected_at, "run_id": conflict.run_id,
    }


def recent_runs():
    return SyncRun.objects.order_by("-started_at", "-pk")


def people_to_export(reach):
    """Everyone `reach` covers who still has personal data (anonymised people have none left)."""
    queryset = (
        Person.objects.filter(anonymised_at__isnull=True).select_related("site")
        .prefetch_related(
            "teams", "external_ids",
            Prefetch("methods", queryset=ContactMethod.objects.filter(
                kind__in=set(METHOD_COLUMNS.values()), is_active=True,
            ).order_by("order", "pk")),
        )
        .order_by("name", "pk")
    )
    return _in_reach(queryset, reach)
