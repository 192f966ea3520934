"""What `tocsin check` reports about escalation: the installation's final fallback, services that
page through no policy, and incidents whose escalation ran out."""

from django.utils import timezone

from tocsin.catalog.models import Service
from tocsin.core.config_checks import Finding
from tocsin.incidents.models import Incident

from .stepping import fallback_people


def fallback_findings(now=None):
    people = fallback_people(None, now or timezone.now())
    if not people:
        return [Finding("warning", (
            "escalation: there is no final fallback: no active administrator is linked to a person in the "
            "directory, so an incident nobody acknowledges would page no one; link an admin's user to a person"))]
    return [Finding("ok", f"escalation: the final fallback reaches {len(people)} administrator(s)")]


def unlinked_service_findings():
    names = list(Service.objects.filter(escalation_link__isnull=True).order_by("name").values_list("name", flat=True))
    if not names:
        return [Finding("ok", "escalation: every service pages through an escalation policy")]
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return [Finding("warning", f"escalation: {len(names)} service(s) have no escalation policy and page only the "
                               f"final fallback: {shown}")]


def unpaged_findings():
    count = Incident.objects.filter(status__in=Incident.OPEN, unpaged=True).count()
    if not count:
        return []
    return [Finding("warning", f"escalation: {count} open incident(s) reached the final fallback unacknowledged")]
