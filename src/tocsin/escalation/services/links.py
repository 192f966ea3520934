"""Which policy pages for a service, and the service's acknowledgement timeout."""

from django.core.exceptions import ValidationError
from django.db import transaction

from tocsin.core import audit

from ..models import ServicePolicy

MAX_ACK_TIMEOUT_MINUTES = 7 * 24 * 60


def link_service(service, policy, *, actor, ack_timeout_minutes=None):
    if ack_timeout_minutes is not None and (
            not isinstance(ack_timeout_minutes, int) or isinstance(ack_timeout_minutes, bool)
            or not 1 <= ack_timeout_minutes <= MAX_ACK_TIMEOUT_MINUTES):
        raise ValidationError({"ack_timeout_minutes": f"Give 1 to {MAX_ACK_TIMEOUT_MINUTES} minutes, or none."})
    with transaction.atomic():
        link, _ = ServicePolicy.objects.update_or_create(
            service=service, defaults={"policy": policy, "ack_timeout_minutes": ack_timeout_minutes})
        audit.record(actor, "escalation.service.link", service, summary={
            "policy": policy.pk, "ack_timeout_minutes": ack_timeout_minutes})
    return link


def unlink_service(service, *, actor):
    with transaction.atomic():
        deleted, _ = ServicePolicy.objects.filter(service=service).delete()
        if deleted:
            audit.record(actor, "escalation.service.unlink", service)
    return bool(deleted)
