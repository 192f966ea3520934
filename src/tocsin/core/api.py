"""Core JSON API: the caller, users, teams, roles, tokens and the audit log."""

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Status
from ninja.pagination import paginate

from . import audit, audit_export, mfa, services
from .api_auth import check
from .models import ApiToken, AuditEntry, Membership, RoleAssignment, Team, User
from .permissions import MATRIX, PERMISSIONS, scope_problems, teams_for
from .schemas import (
    ObjectId,
    SlugPath,
    AuditOut,
    MeOut,
    MemberIn,
    PermissionOut,
    RoleIn,
    RoleOut,
    TeamIn,
    TeamOut,
    TokenCreated,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserRow,
    UserPatch,
    VerifyOut,
)

router = Router(tags=["core"])


def _actor(request):
    return audit.Actor.of(request.principal)


def _users_with_relations():
    return User.objects.order_by("username").prefetch_related(
        Prefetch("role_assignments", queryset=RoleAssignment.objects.select_related("team")),
        Prefetch("memberships", queryset=Membership.objects.select_related("team")),
    )


def _user_out(user, roles=None, teams=None):
    """`roles` as (assignment id, role, team slug); read from the prefetched relations when omitted."""
    if roles is None:
        roles = [(a.pk, a.role, a.team.slug if a.team else None) for a in user.role_assignments.all()]
        teams = [m.team.slug for m in user.memberships.all()]
    return {
        "id": user.pk,
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": user.is_active,
        "roles": [{"id": pk, "role": role, "team": slug} for pk, role, slug in roles],
        "teams": teams,
    }


@router.get("/me", response=MeOut, summary="The calling user, their roles and effective permissions")
def me(request):
    principal = request.principal
    return {
        **_user_out(principal.user, principal.assignment_details, principal.member_team_slugs),
        "via": "token" if principal.token else "session",
        "permissions": sorted(perm for perm in PERMISSIONS if teams_for(principal, perm)),
        "mfa_enabled": mfa.has_mfa(principal.user),
    }


@router.get("/permissions", response=list[PermissionOut], summary="The role and permission matrix")
def permission_matrix(request):
    return [
        {
            "name": name,
            "description": perm.description,
            "team_scoped": perm.team_scoped,
            "interactive": perm.interactive,
            "roles": sorted(role for role, perms in MATRIX.items() if name in perms),
        }
        for name, perm in PERMISSIONS.items()
    ]


# --- users ------------------------------------------------------------------


@router.get("/users", response=list[UserRow])
@paginate
def list_users(request):
    check(request, "users:manage")
    return _users_with_relations()


@router.post("/users", response={201: UserOut})
def create_user(request, payload: UserIn):
    check(request, "users:manage")
    user = services.create_user(actor=_actor(request), **payload.dict())
    return Status(201, _user_out(_users_with_relations().get(pk=user.pk)))


@router.get("/users/{user_id}", response=UserOut)
def get_user(request, user_id: ObjectId):
    check(request, "users:manage")
    return _user_out(get_object_or_404(_users_with_relations(), pk=user_id))


@router.patch("/users/{user_id}", response=UserOut)
def update_user(request, user_id: ObjectId, payload: UserPatch):
    check(request, "users:manage")
    user = get_object_or_404(User, pk=user_id)
    changes = payload.dict(exclude_unset=True, exclude_none=True)
    active = changes.pop("is_active", None)
    if changes:
        services.update_user(user, actor=_actor(request), **changes)
    if active is not None and active != user.is_active:
        services.set_active(user, active, actor=_actor(request))
    return _user_out(_users_with_relations().get(pk=user.pk))


@router.post("/users/{user_id}/roles", response={201: RoleOut})
def assign_role(request, user_id: ObjectId, payload: RoleIn):
    check(request, "users:manage")
    user = get_object_or_404(User, pk=user_id)
    team = get_object_or_404(Team, slug=payload.team) if payload.team else None
    assignment = services.assign_role(user, payload.role, actor=_actor(request), team=team)
    return Status(201, {"id": assignment.pk, "role": assignment.role, "team": team.slug if team else None})


@router.delete("/users/{user_id}/roles/{assignment_id}", response={204: None})
def revoke_role(request, user_id: ObjectId, assignment_id: ObjectId):
    check(request, "users:manage")
    assignment = get_object_or_404(RoleAssignment.objects.select_related("team", "user"), pk=assignment_id, user_id=user_id)
    services.revoke_role(assignment, actor=_actor(request))
    return Status(204, None)


# --- teams ------------------------------------------------------------------


@router.get("/teams", response=list[TeamOut])
@paginate
def list_teams(request):
    check(request, "contacts:read")
    return Team.objects.all()


@router.post("/teams", response={201: TeamOut})
def create_team(request, payload: TeamIn):
    check(request, "users:manage")
    return Status(201, services.create_team(actor=_actor(request), **payload.dict()))


@router.post("/teams/{slug}/members", response={204: None})
def add_member(request, slug: SlugPath, payload: MemberIn):
    check(request, "users:manage")
    team = get_object_or_404(Team, slug=slug)
    services.add_member(team, get_object_or_404(User, pk=payload.user_id), actor=_actor(request))
    return Status(204, None)


@router.delete("/teams/{slug}/members/{user_id}", response={204: None})
def remove_member(request, slug: SlugPath, user_id: ObjectId):
    check(request, "users:manage")
    team = get_object_or_404(Team, slug=slug)
    services.remove_member(team, get_object_or_404(User, pk=user_id), actor=_actor(request))
    return Status(204, None)


# --- tokens -----------------------------------------------------------------


@router.get("/tokens", response=list[TokenOut], summary="The caller's API tokens")
def list_tokens(request):
    check(request, "tokens:own")
    return list(ApiToken.objects.filter(user=request.principal.user).select_related("user"))


@router.post("/tokens", response={201: TokenCreated}, summary="Create a token; its secret is returned once")
def create_token(request, payload: TokenIn):
    check(request, "tokens:own")
    problems = scope_problems(request.principal, payload.scopes, stepped_up=mfa.is_fresh(request))
    if problems:
        raise ValidationError({"scopes": problems})
    token, secret = services.issue_token(
        request.principal.user, actor=_actor(request), name=payload.name,
        expires_days=payload.expires_days, scopes=payload.scopes,
    )
    return Status(201, {**TokenOut.model_validate(token).model_dump(), "token": secret})


@router.delete("/tokens/{token_id}", response={204: None}, summary="Revoke a token (one's own, or any as admin)")
def revoke_token(request, token_id: ObjectId):
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=token_id)
    if token.user_id == request.principal.user.pk:
        check(request, "tokens:own")
    else:
        check(request, "users:manage", target=f"token:{token_id}")
    services.revoke_token(token, actor=_actor(request))
    return Status(204, None)


# --- audit ------------------------------------------------------------------


@router.get("/audit", response=list[AuditOut])
@paginate
def list_audit(request, filters: Query[audit_export.AuditFilter]):
    check(request, "audit:read")
    return filters.apply(AuditEntry.objects.order_by("-seq"))


@router.get("/audit/verify", response=VerifyOut, summary="Walk the audit chain and report the first bad entry")
def verify_audit(request):
    check(request, "audit:read")
    return audit.verify().__dict__


@router.get("/audit/export", summary="Export the audit log as CSV or JSON for auditors")
def export_audit(request, filters: Query[audit_export.AuditFilter], format: str = "json"):
    check(request, "audit:export")
    return audit_export.response(filters, format, actor=_actor(request))
