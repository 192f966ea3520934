"""Use cases for contact methods: add, change, verify, remove and restore from history."""

import copy

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tocsin.core import audit

from .. import availability
from ..models import ContactMethod
from ..values import index_for, normalise
from tocsin.core.history import stamp

_EDITABLE = {"kind", "value", "label", "order", "availability", "usage", "is_active"}


def _owner_label(method):
    # Ids only: names are personal data and stay out of the audit chain.
    return {"person": method.person_id, "role": method.role_id, "team": method.team_id}


def _validate(method):
    if method.kind not in dict(ContactMethod.KINDS):
        raise ValidationError({"kind": f"Unknown kind '{method.kind}'. Known: {', '.join(dict(ContactMethod.KINDS))}."})
    if method.usage not in dict(ContactMethod.USAGES):
        raise ValidationError({"usage": f"Unknown usage '{method.usage}'."})
    method.value = normalise(method.kind, method.value)
    method.value_index = index_for(method.kind, method.value)
    availability.parse(method.availability)
    if len(method.label or "") > 80:
        raise ValidationError({"label": "At most 80 characters."})


def add_method(*, actor, source="ui", person=None, role=None, team=None, **fields):
    unknown = set(fields) - _EDITABLE
    if unknown:
        raise ValidationError({name: "Unknown field." for name in unknown})
    if sum(owner is not None for owner in (person, role, team)) != 1:
        raise ValidationError({"owner": "A method belongs to exactly one person, role or team."})
    method = ContactMethod(person=person, role=role, team=team, **fields)
    _validate(method)
    with transaction.atomic():
        stamp(method, actor, source)
        method.save()
        audit.record(actor, "contact.method_added", method, summary={"kind": method.kind, "source": source, **_owner_label(method)})
    return method


def update_method(method, *, actor, source="ui", **fields):
    unknown = set(fields) - _EDITABLE
    if unknown:
        raise ValidationError({name: "Unknown field." for name in unknown})
    before = {name: getattr(method, name) for name in _EDITABLE}
    candidate = copy.copy(method)  # the caller's object changes only once the new values are valid
    for name, value in fields.items():
        setattr(candidate, name, value)
    _validate(candidate)
    for name in (*fields, "value", "value_index"):
        setattr(method, name, getattr(candidate, name))
    after = {name: getattr(method, name) for name in _EDITABLE}
    if before["value"] != after["value"] or before["kind"] != after["kind"]:
        method.verified, method.verified_at = False, None  # a new number has not been proven yet
    with transaction.atomic():
        stamp(method, actor, source)
        method.save()
        diff = audit.changes(before, after, sensitive={"value"})
        if diff:
            audit.record(actor, "contact.method_updated", method, summary={"source": source, **diff})
    return method


def mark_verified(method, *, actor, source="ui", how="steward"):
    with transaction.atomic():
        method.verified, method.verified_at = True, timezone.now()
        stamp(method, actor, source)
        method.save()
        audit.record(actor, "contact.method_verified", method, summary={"how": how, "source": source})
    return method


def remove_method(method, *, actor, source="ui"):
    with transaction.atomic():
        summary = {"kind": method.kind, "source": source, **_owner_label(method)}
        method_id = method.pk
        stamp(method, actor, source)
        method.delete()
        audit.record(actor, "contact.method_removed", object_type="directory.contactmethod", object_id=str(method_id), summary=summary)


def restore_method(method, history_id, *, actor, source="ui"):
    """Bring a method back to an earlier version; the restore is itself a new version."""
    version = method.history.filter(history_id=history_id).first()
    if version is None:
        raise ValidationError({"history_id": "No such version of this method."})
    fields = {name: getattr(version, name) for name in ("kind", "value", "label", "order", "availability", "usage", "is_active")}
    with transaction.atomic():
        update_method(method, actor=actor, source=source, **fields)
        audit.record(actor, "contact.method_restored", method, summary={"version": history_id, "source": source})
    return method
