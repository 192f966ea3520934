"""Directory JSON API: people, contact methods (masked; reveal is audited), roles, delegations,
grants and compliance. Writes need `contacts:write` (a token needs it as an explicit scope;
a browser session needs a fresh MFA step-up)."""

from datetime import UTC

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from tocsin.core import audit, mfa
from tocsin.core.api_auth import check
from tocsin.core.models import Team
from tocsin.core.permissions import ALL_TEAMS, PermissionDeniedError, can, require, teams_for
from tocsin.core.schemas import ObjectId, SlugPath

from . import compliance, services
from .api_breaches import router as breaches_router
from .models import AccessGrant, Consent, ContactMethod, OrgRole, Person, Site
from .resolution import resolve_role
from .schemas import (
    ComplianceOut,
    ConsentIn,
    ConsentOut,
    DelegationIn,
    DelegationOut,
    GrantIn,
    GrantOut,
    HoldingIn,
    MethodIn,
    MethodOut,
    MethodPatch,
    PersonIn,
    PersonOut,
    PersonPatch,
    RevealOut,
    RoleIn,
    RoleOut,
    VersionOut,
)
from .values import mask
from .visibility import can_edit_person, reveal_with_basis, teams_out_of_write_reach

router = Router(tags=["directory"])
router.add_router("/breaches", breaches_router)
SOURCE = "api"


def _actor(request):
    return audit.Actor.of(request.principal)


def _people():
    return Person.objects.select_related("site").prefetch_related(
        "teams", Prefetch("methods", queryset=ContactMethod.objects.order_by("order", "pk"))
    )


def _require_write(request, person=None, teams=()):
    """May change `person` (contacts:write on any of their teams) and reaches every team in
    `teams` (teams being added, a role's team, the other side of a delegation). A browser
    session also needs a fresh step-up; a token needs the explicit scope (see permissions)."""
    principal = request.principal
    outside = teams_out_of_write_reach(principal, teams)
    if person is not None and not can_edit_person(principal, person):
        person_teams = list(person.teams.all())
        outside = outside or person_teams or [None]
    elif person is None and not teams and teams_for(principal, "contacts:write") != ALL_TEAMS:
        outside = [None]
    if outside:
        require(principal, "contacts:write", outside[0], target="directory")
        raise PermissionDeniedError("contacts:write")  # in reach of that one team, not of all of them
    if principal.token is None and not mfa.is_fresh(request):
        raise HttpError(403, "A fresh MFA step-up is required to change contact details.")


def _teams(slugs):
    teams = list(Team.objects.filter(slug__in=slugs or []))
    missing = sorted(set(slugs or []) - {t.slug for t in teams})
    if missing:
        raise HttpError(400, f"Unknown team(s): {', '.join(missing)}.")
    return teams


def _site(slug):
    if slug is None:
        return None
    site = Site.objects.filter(slug=slug).first()
    if site is None:
        raise HttpError(400, f"Unknown site '{slug}'.")
    return site


class PeopleFilter(Schema):
    search: str | None = None
    team: str | None = None
    active: bool | None = None

    def apply(self, queryset):
        if self.search:
            queryset = queryset.filter(name__icontains=self.search)
        if self.team:
            queryset = queryset.filter(teams__slug=self.team)
        if self.active is not None:
            queryset = queryset.filter(is_active=self.active)
        return queryset


# --- people -----------------------------------------------------------------


@router.get("/people", response=list[PersonOut], summary="People with masked contact methods")
@paginate
def list_people(request, filters: Query[PeopleFilter]):
    check(request, "contacts:read")
    return filters.apply(_people()).order_by("name", "pk")


@router.get("/people/{person_id}", response=PersonOut)
def get_person(request, person_id: ObjectId):
    check(request, "contacts:read")
    return get_object_or_404(_people(), pk=person_id)


@router.post("/people", response={201: PersonOut})
def create_person(request, payload: PersonIn):
    check(request, "contacts:read")
    teams = _teams(payload.teams)
    _require_write(request, teams=teams)
    data = payload.dict(exclude={"teams", "site"})
    person = services.create_person(actor=_actor(request), source=SOURCE, teams=teams, site=_site(payload.site), **data)
    return Status(201, _people().get(pk=person.pk))


@router.patch("/people/{person_id}", response=PersonOut)
def update_person(request, person_id: ObjectId, payload: PersonPatch):
    person = get_object_or_404(Person, pk=person_id)
    changes = payload.dict(exclude_unset=True)
    teams = _teams(changes.pop("teams")) if "teams" in changes else None
    _require_write(request, person, teams=teams or [])
    if "site" in changes:
        changes["site"] = _site(changes["site"])
    services.update_person(person, actor=_actor(request), source=SOURCE, teams=teams, **changes)
    return _people().get(pk=person.pk)


@router.post("/people/{person_id}/deactivate", response=PersonOut, summary="Offboard: end holdings and methods")
def deactivate_person(request, person_id: ObjectId):
    person = get_object_or_404(Person, pk=person_id)
    _require_write(request, person)
    services.deactivate_person(person, actor=_actor(request), source=SOURCE)
    return _people().get(pk=person.pk)


@router.get("/people/{person_id}/history", response=list[VersionOut], summary="Versions of the person's methods")
def method_history(request, person_id: ObjectId):
    check(request, "contacts:read")
    person = get_object_or_404(Person, pk=person_id)
    versions = ContactMethod.history.filter(person_id=person.pk).select_related("history_user").order_by("-history_date")
    return [
        {
            "history_id": v.history_id, "method": v.id, "at": v.history_date,
            "by": v.history_user.username if v.history_user else None,
            "source": (v.history_change_reason or "").split(":", 1)[0], "kind": v.kind,
            "masked_value": mask(v.kind, v.value), "verified": v.verified, "is_active": v.is_active,
            "change": {"+": "created", "~": "changed", "-": "deleted"}[v.history_type],
        }
        for v in versions
    ]


@router.get("/people/{person_id}/consents", response=list[ConsentOut])
def list_consents(request, person_id: ObjectId):
    check(request, "contacts:read")
    return list(Consent.objects.filter(person_id=person_id))


def _consent_writer(request, person):
    """The person themselves, or someone who may change their contact details."""
    if person.user_id != request.principal.user.pk:
        _require_write(request, person)


@router.post("/people/{person_id}/consents", response={201: ConsentOut}, summary="Record consent to a purpose")
def give_consent(request, person_id: ObjectId, payload: ConsentIn):
    person = get_object_or_404(Person, pk=person_id)
    _consent_writer(request, person)
    return Status(201, services.record_consent(person, payload.purpose, actor=_actor(request), source=SOURCE))


@router.delete("/people/{person_id}/consents/{purpose}", response={204: None}, summary="Withdraw consent")
def withdraw_consent(request, person_id: ObjectId, purpose: SlugPath):
    person = get_object_or_404(Person, pk=person_id)
    _consent_writer(request, person)
    if not services.withdraw_consent(person, purpose, actor=_actor(request), source=SOURCE):
        raise HttpError(404, f"No standing consent to '{purpose}'.")
    return Status(204, None)


# --- methods ----------------------------------------------------------------


@router.post("/people/{person_id}/methods", response={201: MethodOut})
def add_method(request, person_id: ObjectId, payload: MethodIn):
    person = get_object_or_404(Person, pk=person_id)
    _require_write(request, person)
    method = services.add_method(actor=_actor(request), source=SOURCE, person=person, **payload.dict())
    return Status(201, method)


def _personal_method(method_id):
    method = get_object_or_404(ContactMethod.objects.select_related("person"), pk=method_id)
    if method.person is None:
        raise HttpError(404, "Shared channels of roles and teams are managed on the role or team.")
    return method


@router.patch("/methods/{method_id}", response=MethodOut)
def update_method(request, method_id: ObjectId, payload: MethodPatch):
    method = _personal_method(method_id)
    _require_write(request, method.person)
    services.update_method(method, actor=_actor(request), source=SOURCE, **payload.dict(exclude_unset=True))
    return method


@router.delete("/methods/{method_id}", response={204: None})
def remove_method(request, method_id: ObjectId):
    method = _personal_method(method_id)
    _require_write(request, method.person)
    services.remove_method(method, actor=_actor(request), source=SOURCE)
    return Status(204, None)


@router.post("/methods/{method_id}/verify", response=MethodOut, summary="A steward vouches for a method")
def verify_method(request, method_id: ObjectId):
    method = _personal_method(method_id)
    _require_write(request, method.person)
    services.mark_verified(method, actor=_actor(request), source=SOURCE)
    return method


@router.post("/methods/{method_id}/reveal", response=RevealOut, summary="See one value in clear (audited)")
def reveal_method(request, method_id: ObjectId):
    check(request, "contacts:read")
    method = get_object_or_404(ContactMethod.objects.select_related("person"), pk=method_id)
    value, decision = reveal_with_basis(request.principal, method)
    if value is None:
        raise PermissionDeniedError(
            "contacts:reveal", "You have no need-to-know for this person; request a grant with a reason."
        )
    return {"id": method.pk, "kind": method.kind, "value": value, "basis": decision.basis}


# --- roles and delegations --------------------------------------------------


def _role_out(role, at):
    return {
        "id": role.pk, "name": role.name, "slug": role.slug, "critical": role.critical, "hours": role.hours,
        "response_commitment": role.response_commitment, "sheet_level": role.sheet_level,
        "reaches": [{"id": p.pk, "name": p.name} for p in resolve_role(role, at)],
    }


@router.get("/roles", response=list[RoleOut], summary="Roles and whom they reach now (or at `at`)")
def list_roles(request, at: str | None = None):
    check(request, "contacts:read")
    moment = _moment(at)
    return [_role_out(role, moment) for role in OrgRole.objects.all()]


def _moment(at):
    if not at:
        return timezone.now()
    try:
        parsed = parse_datetime(at)
    except ValueError:
        parsed = None
    if parsed is None:
        raise HttpError(400, f"'at' must be an ISO 8601 time, such as 2026-12-24T18:00:00Z; got '{at[:40]}'.")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@router.post("/roles", response={201: RoleOut})
def create_role(request, payload: RoleIn):
    _require_write(request)
    role = services.create_role(actor=_actor(request), **payload.dict())
    return Status(201, _role_out(role, timezone.now()))


@router.post("/roles/{slug}/holders", response={201: RoleOut})
def assign_holder(request, slug: SlugPath, payload: HoldingIn):
    role = get_object_or_404(OrgRole, slug=slug)
    person = get_object_or_404(Person, pk=payload.person_id)
    # Both sides: a steward may not pull someone from another team into their role (and exports).
    _require_write(request, person, teams=[role.team] if role.team else [])
    services.assign_holder(role, person, actor=_actor(request), source=SOURCE,
                           starts_at=payload.starts_at, ends_at=payload.ends_at)
    return Status(201, _role_out(role, timezone.now()))


@router.post("/delegations", response={201: DelegationOut})
def create_delegation(request, payload: DelegationIn):
    delegator = get_object_or_404(Person, pk=payload.delegator_id)
    delegate_to = get_object_or_404(Person, pk=payload.delegate_id)
    _require_write(request, delegator)
    _require_write(request, delegate_to)
    delegation = services.delegate(
        delegator, delegate_to, actor=_actor(request), starts_at=payload.starts_at, ends_at=payload.ends_at,
        reason=payload.reason, source=SOURCE,
    )
    return Status(201, delegation)


# --- grants -----------------------------------------------------------------


def _grant_out(grant):
    return {
        "id": grant.pk, "grantee": grant.grantee.username, "scope": grant.scope_label, "reason": grant.reason,
        "status": grant.status, "requested_at": grant.requested_at, "starts_at": grant.starts_at, "ends_at": grant.ends_at,
    }


@router.get("/grants", response=list[GrantOut], summary="One's own grants; every grant for access reviewers")
def list_grants(request):
    check(request, "contacts:read")
    grants = AccessGrant.objects.select_related("grantee", "person", "team", "role")
    if not can(request.principal, "access:review"):
        grants = grants.filter(grantee=request.principal.user)
    return [_grant_out(g) for g in grants[:500]]


@router.post("/grants", response={201: GrantOut}, summary="Request break-glass access with a reason")
def request_grant(request, payload: GrantIn):
    check(request, "contacts:read")
    scope = {
        "person": get_object_or_404(Person, pk=payload.person_id) if payload.person_id else None,
        "team": get_object_or_404(Team, slug=payload.team) if payload.team else None,
        "role": get_object_or_404(OrgRole, slug=payload.role) if payload.role else None,
    }
    grant = services.request_grant(
        request.principal.user, actor=_actor(request), reason=payload.reason,
        duration_minutes=payload.duration_minutes, **scope,
    )
    return Status(201, _grant_out(grant))


@router.post("/grants/{grant_id}/{decision}", response=GrantOut, summary="approve, deny or revoke a grant")
def decide_grant(request, grant_id: ObjectId, decision: str):
    grant = get_object_or_404(AccessGrant.objects.select_related("grantee", "person", "team", "role"), pk=grant_id)
    if decision not in services.grants.DECISIONS:
        raise HttpError(404, f"Unknown decision '{decision[:20]}'; use approve, deny or revoke.")
    services.decide_grant(grant, decision, principal=request.principal, actor=_actor(request))
    return _grant_out(grant)


# --- compliance -------------------------------------------------------------


@router.get("/compliance", response=ComplianceOut, summary="Minimum methods, overdue validations, coverage gaps")
def compliance_report(request):
    check(request, "contacts:export")
    return {
        "below_minimum_methods": [
            {"person_id": s.person.pk, "name": s.person.name, "roles": s.roles, "verified": s.verified,
             "kinds": s.kinds, "needed_verified": s.needed_verified, "needed_kinds": s.needed_kinds}
            for s in compliance.below_minimum_methods()
        ],
        "overdue_validations": [
            {"person_id": o.person.pk, "name": o.person.name, "team": o.team.slug, "due_since": o.due_since}
            for o in compliance.overdue_validations()
        ],
        "coverage_gaps": [role.slug for role in compliance.coverage_gaps()],
    }

