"""Creating and revising escalation policies. Every change of tiers or timings is a new version
with its reason (D7); incidents already escalating keep the version they started with."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tocsin.core import audit

from .. import spec as specs
from ..models import Escalation, EscalationPolicy, PolicyVersion

MAX_NAME = 120


def _clean_name(name, exclude=None):
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise ValidationError({"name": f"Name the policy in 1 to {MAX_NAME} characters."})
    clash = EscalationPolicy.objects.filter(name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise ValidationError({"name": f"A policy named '{name}' exists already."})
    return name


def _clean_reason(reason):
    reason = (reason or "").strip()
    if not reason or len(reason) > 2000:
        raise ValidationError({"reason": "Say why the policy is set this way (1 to 2,000 characters)."})
    return reason


def _validated(document):
    """The spec as stored: validated and normalised, every target checked to exist."""
    spec = specs.parse(document)
    specs.check_targets(spec)
    return spec.model_dump(mode="json")


def create_policy(name, document, *, actor, user=None, reason="Created", description="", team=None):
    name = _clean_name(name)
    stored = _validated(document)
    reason = _clean_reason(reason)
    with transaction.atomic():
        policy = EscalationPolicy.objects.create(name=name, description=(description or "").strip()[:5000], team=team)
        version = PolicyVersion.objects.create(policy=policy, number=1, spec=stored, reason=reason, created_by=user)
        policy.current = version
        policy.save(update_fields=["current"])
        audit.record(actor, "escalation.policy.create", policy, summary={"name": name, "version": 1,
                                                                          "tiers": len(stored["tiers"])})
    return policy


def revise_policy(policy, *, actor, reason, document=None, user=None, name=None, description=None, team=None,
                  change_team=False):
    """A new version when the tiers or timings change; the name, description and team change in place."""
    stored = _validated(document) if document is not None else None
    with transaction.atomic():
        policy = EscalationPolicy.objects.select_for_update().get(pk=policy.pk)
        changed = {}
        if name is not None and name.strip() != policy.name:
            policy.name = changed["name"] = _clean_name(name, exclude=policy)
        if description is not None and description.strip() != policy.description:
            policy.description = changed["description"] = description.strip()[:5000]
        if change_team and team != policy.team:
            policy.team, changed["team"] = team, team.pk if team else None
        if stored is not None and (policy.current is None or stored != policy.current.spec):
            number = (policy.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
            policy.current = PolicyVersion.objects.create(policy=policy, number=number, spec=stored,
                                                          reason=_clean_reason(reason), created_by=user,
                                                          created_at=timezone.now())
            changed["version"] = number
        if changed:
            policy.save()
            audit.record(actor, "escalation.policy.revise", policy, summary={**changed, "reason": reason or ""})
    return policy


def delete_policy(policy, *, actor):
    if policy.services.exists():
        names = ", ".join(policy.services.values_list("service__name", flat=True)[:5])
        raise ValidationError({"policy": f"Services still page through this policy: {names}. Link them elsewhere first."})
    if Escalation.objects.filter(version__policy=policy).exists():
        raise ValidationError({"policy": "Incidents have escalated on this policy; it is kept as their record."})
    with transaction.atomic():
        audit.record(actor, "escalation.policy.delete", policy, summary={"name": policy.name})
        EscalationPolicy.objects.filter(pk=policy.pk).update(current=None)
        policy.delete()
