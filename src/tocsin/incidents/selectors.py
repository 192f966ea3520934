"""Read-side queries of the incident pages and API: the filtered list and one incident with its
timeline and responders, each in a fixed number of queries whatever the number of rows."""

from django.core.exceptions import ValidationError
from django.db.models import Prefetch

from .access import visible_to
from .models import Incident, Responder, TimelineEntry

STATUSES = (Incident.TRIGGERED, Incident.ACKNOWLEDGED, Incident.RESOLVED)
MINE = "me"


def statuses_from(values):
    """Statuses given repeated, comma-separated, or both; none given means the open ones."""
    chosen = []
    for value in values or ():
        for part in str(value).split(","):
            part = part.strip().lower()
            if not part:
                continue
            if part not in STATUSES:
                raise ValidationError({"status": f"Unknown status '{part[:40]}': use {', '.join(STATUSES)}."})
            if part not in chosen:
                chosen.append(part)
    return chosen or list(Incident.OPEN)


def visible(user):
    """The incidents `user` may know of (security incidents only for those cleared, see access)."""
    return Incident.objects.filter(visible_to(user))


def incidents_for_list(user):
    """Newest first, with what a row shows (service, assignee, priority) joined in."""
    return visible(user).select_related("service", "assigned_to", "priority").order_by("-created_at", "-number")


def filtered(*, user, statuses=None, service=None, urgency=None, assigned_to=None, unpaged=None, q="",
             created_after=None, created_before=None):
    """The incident list narrowed by each filter given. `assigned_to` is a person id, or "me":
    the person linked to `user` (a user without one is assigned nothing)."""
    incidents = incidents_for_list(user).filter(status__in=statuses_from(statuses))
    if service is not None:
        incidents = incidents.filter(service_id=getattr(service, "pk", service))
    if urgency:
        incidents = incidents.filter(urgency=urgency)
    if assigned_to == MINE:
        incidents = incidents.filter(assigned_to__user=user) if user is not None else incidents.none()
    elif assigned_to is not None:
        incidents = incidents.filter(assigned_to_id=assigned_to)
    if unpaged is not None:
        incidents = incidents.filter(unpaged=unpaged)
    if q:
        incidents = incidents.filter(title__icontains=q)
    if created_after is not None:
        incidents = incidents.filter(created_at__gte=created_after)
    if created_before is not None:
        incidents = incidents.filter(created_at__lt=created_before)
    return incidents


def incident_detail(user, **lookup):
    """One incident (by pk= or number=) with its timeline, responders and related services loaded;
    Incident.DoesNotExist also when `user` may not see it."""
    return (
        visible(user).select_related("service__owner_team", "assigned_to", "priority", "created_by")
        .prefetch_related(
            "related_services",
            Prefetch("timeline", queryset=TimelineEntry.objects.order_by("at", "pk")),
            Prefetch("responders", queryset=Responder.objects.select_related("person").order_by("added_at", "pk")),
        )
        .get(**lookup)
    )
