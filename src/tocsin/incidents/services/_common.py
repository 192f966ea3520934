"""What the incident use cases share: locking the row, checking it is open, timeline entries."""

from django.core.exceptions import ValidationError

from .. import live
from ..models import Incident, TimelineEntry


def locked(incident):
    """The incident read again under a row lock, so concurrent changes queue up."""
    return Incident.objects.select_for_update().get(pk=incident.pk)


def require_open(incident, doing):
    if incident.status == Incident.RESOLVED:
        raise ValidationError({"status": f"Incident {incident.reference} is resolved; it cannot be {doing}."})


def entry(incident, kind, message, *, actor, at, data=None, key=None):
    return TimelineEntry(incident=incident, kind=kind, at=at, actor_type=actor.type, actor_label=actor.label[:150],
                         message=message, data=data or {}, key=key)


def write(incident, kind, message, *, actor, at, data=None):
    entry(incident, kind, message, actor=actor, at=at, data=data).save()
    live.changed(incident.pk)


def by_whom(actor):
    return actor.label or actor.type
