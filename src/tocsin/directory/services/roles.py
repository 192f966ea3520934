"""Use cases for organisational roles, their holders and delegations."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from tocsin.core import audit

from ..models import Delegation, OrgRole, RoleHolding
from tocsin.core.history import stamp


def create_role(*, actor, name, **fields):
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A role name is required."})
    slug = slugify(name)
    if not slug:
        raise ValidationError({"name": "A role name needs at least one letter or digit."})
    if OrgRole.objects.filter(slug=slug).exists():
        raise ValidationError({"name": f"A role named '{name}' exists already."})
    with transaction.atomic():
        role = OrgRole.objects.create(name=name, slug=slug, **fields)
        audit.record(actor, "role.created", role, summary={"name": name, "critical": role.critical})
    return role


def assign_holder(role, person, *, actor, source="ui", starts_at=None, ends_at=None):
    starts_at = starts_at or timezone.now()
    if ends_at is not None and ends_at <= starts_at:
        raise ValidationError({"ends_at": "The holding must end after it starts."})
    if not person.is_active:
        raise ValidationError({"person": f"{person} is deactivated."})
    holding = RoleHolding(role=role, person=person, starts_at=starts_at, ends_at=ends_at)
    with transaction.atomic():
        stamp(holding, actor, source)
        holding.save()
        audit.record(
            actor, "role.holder_assigned", role,
            summary={"person": person.pk, "starts_at": starts_at, "ends_at": ends_at, "source": source},
        )
    return holding


def end_holding(holding, *, actor, source="ui", at=None):
    at = at or timezone.now()
    with transaction.atomic():
        holding.ends_at = max(at, holding.starts_at + timedelta(microseconds=1))
        stamp(holding, actor, source)
        holding.save()
        audit.record(actor, "role.holder_ended", holding.role, summary={"person": holding.person_id, "source": source})
    return holding


def delegate(delegator, delegate_to, *, actor, starts_at, ends_at, reason="", source="ui"):
    """While `delegator` is away (starts_at <= t < ends_at), their roles and pages go to `delegate_to`."""
    if delegator.pk == delegate_to.pk:
        raise ValidationError({"delegate": "A person cannot delegate to themselves."})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "The delegation must end after it starts."})
    if not delegate_to.is_active:
        raise ValidationError({"delegate": f"{delegate_to} is deactivated."})
    delegation = Delegation(delegator=delegator, delegate=delegate_to, starts_at=starts_at, ends_at=ends_at, reason=reason)
    with transaction.atomic():
        stamp(delegation, actor, source)
        delegation.save()
        audit.record(
            actor, "delegation.created", delegation,
            summary={"delegator": delegator.pk, "delegate": delegate_to.pk, "starts_at": starts_at, "ends_at": ends_at},
        )
    return delegation


def end_delegation(delegation, *, actor, at=None, source="ui"):
    at = at or timezone.now()
    with transaction.atomic():
        delegation.ends_at = max(at, delegation.starts_at + timedelta(microseconds=1))
        stamp(delegation, actor, source)
        delegation.save()
        audit.record(actor, "delegation.ended", delegation)
    return delegation
