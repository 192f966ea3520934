"""Break-glass grants: request with a reason and a duration; approve, deny, revoke."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tocsin.core import audit
from tocsin.core.models import RoleAssignment
from tocsin.core.permissions import require

from ..models import AccessGrant, ContactPolicy


def _needs_approver(user):
    self_approving = set(ContactPolicy.get().grant_self_approve_roles or [])
    roles = set(RoleAssignment.objects.filter(user=user).values_list("role", flat=True))
    return not (roles & self_approving)


def request_grant(user, *, actor, reason, duration_minutes, person=None, team=None, role=None):
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ValidationError({"reason": "Say why you need access, in at least 10 characters."})
    limit = ContactPolicy.get().grant_max_minutes
    if not 5 <= int(duration_minutes) <= limit:
        raise ValidationError({"duration_minutes": f"A grant lasts between 5 and {limit} minutes."})
    if sum(scope is not None for scope in (person, team, role)) != 1:
        raise ValidationError({"scope": "A grant covers exactly one person, team or role."})
    grant = AccessGrant(
        grantee=user, person=person, team=team, role=role, reason=reason, duration_minutes=int(duration_minutes)
    )
    with transaction.atomic():
        if not _needs_approver(user):
            _activate(grant)
        grant.save()
        audit.record(
            actor, "grant.requested", grant,
            summary={**_scope_ids(grant), "minutes": grant.duration_minutes, "status": grant.status},
        )
    return grant


def _scope_ids(grant):
    # Ids and slugs only: a person's name is personal data and the audit chain is forever.
    return {"person": grant.person_id, "team": grant.team.slug if grant.team else None,
            "role": grant.role.slug if grant.role else None}


def _activate(grant, approver=None):
    now = timezone.now()
    grant.status, grant.starts_at = AccessGrant.ACTIVE, now
    grant.ends_at = now + timedelta(minutes=grant.duration_minutes)
    grant.decided_by, grant.decided_at = approver, now


def approve_grant(grant, approver, *, actor):
    if grant.status != AccessGrant.PENDING:
        raise ValidationError({"status": f"This grant is {grant.get_status_display().lower()}, not waiting."})
    if approver.pk == grant.grantee_id:
        raise ValidationError({"approver": "Nobody approves their own grant."})
    with transaction.atomic():
        _activate(grant, approver)
        grant.save()
        audit.record(actor, "grant.approved", grant, summary={"grantee": grant.grantee_id, "ends_at": grant.ends_at})
    return grant


def deny_grant(grant, approver, *, actor):
    if grant.status != AccessGrant.PENDING:
        raise ValidationError({"status": "Only a waiting grant can be denied."})
    with transaction.atomic():
        grant.status, grant.decided_by, grant.decided_at = AccessGrant.DENIED, approver, timezone.now()
        grant.save()
        audit.record(actor, "grant.denied", grant, summary={"grantee": grant.grantee_id})
    return grant


def revoke_grant(grant, *, actor):
    with transaction.atomic():
        if grant.status in {AccessGrant.ACTIVE, AccessGrant.PENDING}:
            grant.status = AccessGrant.REVOKED
            grant.ends_at = min(grant.ends_at or timezone.now(), timezone.now())
            grant.save()
            audit.record(actor, "grant.revoked", grant, summary={"grantee": grant.grantee_id})
    return grant


DECISIONS = ("approve", "deny", "revoke")


def decide_grant(grant, decision, *, principal, actor):
    """approve, deny or revoke on behalf of `principal`: anyone may give up their own grant;
    every other decision takes access:review (checked, and audited when refused, first)."""
    if decision not in DECISIONS:
        raise ValidationError({"decision": f"Unknown decision '{decision[:20]}'; use approve, deny or revoke."})
    if not (decision == "revoke" and grant.grantee_id == principal.user.pk):
        require(principal, "access:review", target=f"grant:{grant.pk}")
    if decision == "approve":
        return approve_grant(grant, principal.user, actor=actor)
    if decision == "deny":
        return deny_grant(grant, principal.user, actor=actor)
    return revoke_grant(grant, actor=actor)
