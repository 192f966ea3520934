"""Use cases that change integrations. Ingested alerts are data, not audit entries; the
configuration that takes them in is audited."""

import secrets

from django.core.exceptions import ValidationError
from django.db import transaction

from tocsin.core import audit

from . import lookup
from .models import Heartbeat, Integration, key_digest

KINDS = {kind for kind, _ in Integration.KINDS}


def new_key():
    """128 random bits, as 32 lower-case hex digits (the length of a PagerDuty routing key)."""
    return secrets.token_hex(16)


def create_integration(service, kind, *, actor, name="", options=None, created_by=None):
    """A new integration; returns (integration, key). The key is shown once here and kept encrypted."""
    if kind not in KINDS:
        raise ValidationError({"kind": f"Unknown integration kind '{kind}'; use one of {', '.join(sorted(KINDS))}."})
    name = (name or "").strip() or dict(Integration.KINDS)[kind]
    if len(name) > 120:
        raise ValidationError({"name": "At most 120 characters."})
    key = new_key()
    with transaction.atomic():
        integration = Integration.objects.create(
            service=service, kind=kind, name=name, key=key, key_hash=key_digest(key), options=options or {},
            created_by=created_by)
        if kind == Integration.HEARTBEAT:
            Heartbeat.objects.create(integration=integration)
        audit.record(actor, "alerts.integration.create", integration, summary={
            "service": service.pk if service else None, "kind": kind, "name": name})
    lookup.forget()
    return integration, key
