"""Need-to-know from incidents: the responders of an open incident may see each other's contact
details (the people it pages), and nobody else's."""

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
