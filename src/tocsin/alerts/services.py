"""Use cases that change integrations, and the alert reads shared by the API and the pages.
Ingested alerts are data, not audit entries; the configuration that takes them in is audited."""

import math
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from tocsin.core import audit, mailboxes
from tocsin.core.permissions import ADMIN, SECURITY_OFFICER
from tocsin.incidents.selectors import visible

from . import lookup
from . import options as integration_options
from .models import Alert, Heartbeat, Integration, key_digest

KINDS = {kind for kind, _ in Integration.KINDS}
MAX_NAME = 120
MAX_OPTIONS_DEPTH = 16
# Roles that see security alerts which opened no incident (suppressed or held ones).
SECURITY_ROLES = frozenset({ADMIN, SECURITY_OFFICER})
# The paths each kind posts to under /integrations/<key>/ (e-mail has an address instead).
KIND_FORMATS = {
    Integration.EVENTS_V2: ("batch",),
    Integration.ALERTMANAGER: ("alertmanager",),
    Integration.GRAFANA: ("grafana",),
    Integration.WEBHOOK: ("webhook",),
    Integration.HEARTBEAT: ("heartbeat",),
    Integration.EMAIL: (),
}


def new_key():
    """128 random bits, as 32 lower-case hex digits (the length of a PagerDuty routing key)."""
    return secrets.token_hex(16)


def key_prefix(integration):
    """Enough of the key to tell integrations apart on a list, never enough to use it."""
    return f"{(integration.key or '')[:4]}…"


def mail_domain():
    return mailboxes.domain()


def endpoints(kind, key):
    """Where a sender delivers to an integration of `kind` with `key`: {name: URL or address}."""
    base = settings.BASE_URL
    found = {}
    if kind == Integration.EVENTS_V2:
        found["events"] = f"{base}/v2/enqueue"
    for name in KIND_FORMATS.get(kind, ()):
        found[name] = f"{base}/integrations/{key}/{name}"
    if kind == Integration.EMAIL:
        found["email"] = f"{key}@{mail_domain()}"
    return found


def _check_json(value, where="options", depth=0):
    """PostgreSQL's JSON refuses NUL characters and non-finite numbers; refuse them by name first."""
    if depth > MAX_OPTIONS_DEPTH:
        raise ValidationError({"options": f"'{where}' is nested deeper than {MAX_OPTIONS_DEPTH} levels."})
    if isinstance(value, str) and "\x00" in value:
        raise ValidationError({"options": f"'{where}' must not contain NUL characters."})
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError({"options": f"'{where}' must be a finite number."})
    if isinstance(value, dict):
        for name, item in value.items():
            _check_json(name, where, depth + 1)
            _check_json(item, f"{where}.{name}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{where}.{index}", depth + 1)


def _checked_options(kind, options):
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise ValidationError({"options": "Options must be a JSON object."})
    _check_json(options)
    return integration_options.check_options(kind, options)


def _name(kind, name):
    name = (name or "").strip() or dict(Integration.KINDS)[kind]
    if len(name) > MAX_NAME:
        raise ValidationError({"name": f"At most {MAX_NAME} characters."})
    if "\x00" in name:
        raise ValidationError({"name": "Must not contain NUL characters."})
    return name


def _timing(options):
    """A heartbeat's interval and grace as its options set them (the rest keep their defaults)."""
    return {field: value for field in ("interval_seconds", "grace_seconds")
            if isinstance(value := options.get(field), int) and not isinstance(value, bool) and value >= 0}


def _sync_heartbeat(integration):
    """A heartbeat's interval and grace live on its Heartbeat row; saving them moves its clock."""
    if integration.kind != Integration.HEARTBEAT:
        return
    heartbeat, _ = Heartbeat.objects.get_or_create(integration=integration)
    changed = [field for field, value in _timing(integration.options).items() if getattr(heartbeat, field) != value]
    for field in changed:
        setattr(heartbeat, field, integration.options[field])
    if changed:
        heartbeat.save(update_fields=changed)


def create_integration(service, kind, *, actor, name="", options=None, created_by=None):
    """A new integration; returns (integration, key). The key is shown once here and kept encrypted."""
    if kind not in KINDS:
        raise ValidationError({"kind": f"Unknown integration kind '{kind}'; use one of {', '.join(sorted(KINDS))}."})
    name = _name(kind, name)
    options = _checked_options(kind, options)
    key = new_key()
    with transaction.atomic():
        integration = Integration.objects.create(
            service=service, kind=kind, name=name, key=key, key_hash=key_digest(key), options=options,
            created_by=created_by)
        if kind == Integration.HEARTBEAT:
            Heartbeat.objects.create(integration=integration, **_timing(options))
        audit.record(actor, "alerts.integration.create", integration, summary={
            "service": service.pk if service else None, "kind": kind, "name": name, "options": options})
    lookup.forget()
    return integration, key


def update_integration(integration, *, actor, name=None, options=None, enabled=None):
    """Rename, re-configure, or switch an integration on or off; only what is given changes."""
    before = {"name": integration.name, "options": integration.options, "enabled": integration.enabled}
    if name is not None:
        integration.name = _name(integration.kind, name)
    if options is not None:
        integration.options = _checked_options(integration.kind, options)
    if enabled is not None:
        integration.enabled = bool(enabled)
    after = {"name": integration.name, "options": integration.options, "enabled": integration.enabled}
    diff = audit.changes(before, after)
    if not diff:
        return integration
    with transaction.atomic():
        integration.save(update_fields=["name", "options", "enabled"])
        _sync_heartbeat(integration)
        audit.record(actor, "alerts.integration.update", integration, summary=diff)
    lookup.forget()
    return integration


def rotate_key(integration, *, actor):
    """A new key for the integration; the old one stops working (at once here, within seconds
    in other processes). Returns the new key, shown once."""
    key = new_key()
    with transaction.atomic():
        integration.key, integration.key_hash = key, key_digest(key)
        integration.save(update_fields=["key", "key_hash"])
        audit.record(actor, "alerts.integration.rotate_key", integration, summary={
            "service": integration.service_id, "kind": integration.kind, "name": integration.name})
    lookup.forget()
    return key


def delete_integration(integration, *, actor):
    """Remove an integration; its alerts stay, no longer linked to it."""
    summary = {"service": integration.service_id, "kind": integration.kind, "name": integration.name}
    with transaction.atomic():
        audit.record(actor, "alerts.integration.delete", integration, summary=summary)
        integration.delete()
    lookup.forget()


# --- reads shared by the API and the pages ---------------------------------------------------

OPEN = "open"
STATUS_FILTERS = (OPEN, *(status for status, _ in Alert.STATUSES))
MAX_QUERY = 200


def sees_security_alerts(principal):
    return bool(principal is not None and SECURITY_ROLES.intersection(role for role, _ in principal.assignments))


def visible_alerts(principal):
    """Alerts `principal` may see, with what a list shows loaded alongside (no query per row)."""
    # An alert of an incident is seen by whoever sees that incident (the incidents app's one rule).
    seen = Q(incident__in=visible(principal.user if principal is not None else None).values("pk"))
    alone = Q(incident__isnull=True) if sees_security_alerts(principal) else Q(incident__isnull=True, security=False)
    return Alert.objects.select_related("service", "integration", "incident").filter(seen | alone)


def filtered_alerts(principal, *, service=None, status=None, handling=None, severity=None, incident=None,
                    incident_number=None, q=None, since=None, until=None):
    """The alerts list's filters; `since`/`until` keep alerts seen within that span. The API names
    an incident by id, the pages by its number (#42)."""
    alerts = visible_alerts(principal)
    if service is not None:
        alerts = alerts.filter(service_id=getattr(service, "pk", service))
    if status == OPEN:
        alerts = alerts.filter(status__in=Alert.OPEN)
    elif status:
        alerts = alerts.filter(status=status)
    if handling:
        alerts = alerts.filter(handling=handling)
    if severity:
        alerts = alerts.filter(severity=severity)
    if incident is not None:
        alerts = alerts.filter(incident_id=getattr(incident, "pk", incident))
    if incident_number is not None:
        alerts = alerts.filter(incident__number=incident_number)
    if q:
        alerts = alerts.filter(Q(summary__icontains=q) | Q(source__icontains=q) | Q(dedup_key__icontains=q))
    if since is not None:
        alerts = alerts.filter(last_seen__gte=since)
    if until is not None:
        alerts = alerts.filter(first_seen__lt=until)
    return alerts
