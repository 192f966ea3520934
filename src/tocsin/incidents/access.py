"""Need-to-know from incidents: the responders of an open incident may see each other's contact
details (the people it pages), and nobody else's; and who may see a security incident at all."""

from django.db.models import Exists, OuterRef, Q

from tocsin.core.models import RoleAssignment
from tocsin.core.permissions import ADMIN, SECURITY_OFFICER

from .models import Incident, Responder


def responder_need(user, person, at, context):
    """Registered with directory.visibility: the reference of an open incident on which both the
    user (as a responder) and `person` are involved, else None."""
    viewer = getattr(user, "person", None)
    if viewer is None:
        return None
    shared = (
        Responder.objects.filter(person=person, incident__status__in=Incident.OPEN,
                                 incident__responders__person=viewer)
        .values_list("incident__number", flat=True)
        .order_by("incident__number")
        .first()
    )
    return f"#{shared}" if shared is not None else None


# Who may see a security incident besides its own responders: these roles, held everywhere or
# for the owner team of the incident's service.
SECURITY_CLEARED_ROLES = (ADMIN, SECURITY_OFFICER)


def visible_to(user):
    """The one rule of incident visibility, as a filter: every incident except security incidents,
    which only security officers, admins (for every team or the service's owner team) and the
    incident's own responders (assigned, paged or added) may see. Subqueries, so a list or a
    page costs no extra query. Everyone else is answered as if the incident did not exist."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Q(security=False)
    cleared = RoleAssignment.objects.filter(user=user, role__in=SECURITY_CLEARED_ROLES)
    return (
        Q(security=False)
        | Q(Exists(cleared.filter(team__isnull=True)))
        | Q(service__owner_team_id__in=cleared.filter(team__isnull=False).values("team_id"))
        | Q(Exists(Responder.objects.filter(incident=OuterRef("pk"), person__user=user)))
        | Q(assigned_to__user=user)
    )
