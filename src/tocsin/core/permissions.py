"""Every permission decision in Tocsin: the role matrix and the checks that read it."""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied

ADMIN = "admin"
RESPONDER = "responder"
COMMS_LEAD = "comms_lead"
CONTACT_STEWARD = "contact_steward"
SECURITY_OFFICER = "security_officer"
AUDITOR = "auditor"
VIEWER = "viewer"

ROLES = {
    ADMIN: "Administrator",
    RESPONDER: "Responder",
    COMMS_LEAD: "Communications lead",
    CONTACT_STEWARD: "Contact steward",
    SECURITY_OFFICER: "Security officer",
    AUDITOR: "Auditor",
    VIEWER: "Viewer",
}

# Roles whose standing (team-less) assignment still only reaches the teams the
# holder is a member of: team membership scopes what they may change.
TEAM_BOUND_ROLES = frozenset({RESPONDER, CONTACT_STEWARD})


@dataclass(frozen=True)
class Permission:
    description: str
    team_scoped: bool = False
    # Interactive permissions need a fresh MFA step-up in a browser; a machine
    # (API token) may use one only when the token was explicitly given it as a scope.
    interactive: bool = False


PERMISSIONS = {
    "tokens:own": Permission("Create and revoke one's own API tokens"),
    "incidents:read": Permission("See incidents and the dashboard"),
    "contacts:read": Permission("See people and masked contact details"),
    "users:manage": Permission("Create users, assign roles and teams"),
    "settings:manage": Permission("Change installation settings such as MFA policy"),
    "audit:read": Permission("Read the audit log"),
    "audit:export": Permission("Export the audit log for auditors"),
    "access:review": Permission("Review who holds which permission and grant"),
    "contacts:reveal": Permission("See contact values unmasked", team_scoped=True),
    "contacts:write": Permission("Change contact details", team_scoped=True, interactive=True),
    "contacts:export": Permission("Export the offline contact list", team_scoped=True),
    "incidents:respond": Permission("Acknowledge, resolve and reassign incidents", team_scoped=True),
    "escalation:initiate": Permission("Start or re-run escalation", team_scoped=True),
    "oncall:manage": Permission("Edit schedules, overrides and escalation policies", team_scoped=True),
    "oncall:read": Permission("See schedules and who is on call"),
    "catalog:read": Permission("See services, dependencies, impact analysis and sites"),
    "catalog:manage": Permission("Edit services, their impact analysis and exceptions", team_scoped=True),
    "catalog:approve": Permission("Approve exceptions to the standard escalation timelines"),
    "status:publish": Permission("Post updates to status pages"),
    "comms:send": Permission("Send stakeholder communications"),
    "emergency:declare": Permission("Declare an emergency"),
    "breach:manage": Permission("Record suspected breaches and their obligations"),
}

_EVERYONE = {"tokens:own", "incidents:read", "contacts:read", "oncall:read", "catalog:read"}

MATRIX = {
    ADMIN: set(PERMISSIONS),
    RESPONDER: _EVERYONE | {"incidents:respond", "escalation:initiate", "oncall:manage", "catalog:manage"},
    COMMS_LEAD: _EVERYONE | {"status:publish", "comms:send"},
    CONTACT_STEWARD: _EVERYONE | {"contacts:reveal", "contacts:write", "contacts:export"},
    SECURITY_OFFICER: _EVERYONE | {"audit:read", "access:review", "breach:manage"},
    AUDITOR: _EVERYONE | {"audit:read", "audit:export", "access:review"},
    VIEWER: set(_EVERYONE),
}

ALL_TEAMS = "all"


class PermissionDeniedError(PermissionDenied):
    def __init__(self, permission, message=None):
        self.permission = permission
        super().__init__(message or f"Permission '{permission}' is required.")


@dataclass
class Principal:
    """Who is acting: a user, optionally through an API token, with assignments pre-loaded."""

    user: object
    token: object = None
    assignments: list = field(default_factory=list)  # (role, team_id or None)
    member_team_ids: frozenset = frozenset()
    # For display: (assignment id, role, team slug or None) and the slugs of member teams.
    assignment_details: list = field(default_factory=list)
    member_team_slugs: list = field(default_factory=list)

    @classmethod
    def load(cls, user, token=None):
        """Two queries, whatever the number of roles and teams."""
        from .models import Membership, RoleAssignment

        if user is None or not user.is_active:
            return cls(user=user, token=token)
        rows = list(RoleAssignment.objects.filter(user=user).values_list("pk", "role", "team_id", "team__slug"))
        teams = list(Membership.objects.filter(user=user).values_list("team_id", "team__slug"))
        return cls(
            user=user,
            token=token,
            assignments=[(role, team_id) for _, role, team_id, _ in rows],
            member_team_ids=frozenset(team_id for team_id, _ in teams),
            assignment_details=[(pk, role, slug) for pk, role, _, slug in rows],
            member_team_slugs=sorted(slug for _, slug in teams),
        )

    @property
    def roles(self):
        return sorted({role for role, _ in self.assignments})


def _token_allows(principal, perm):
    token = principal.token
    if token is None:
        return True
    scopes = token.scopes or []
    if PERMISSIONS[perm].interactive:
        return perm in scopes
    return not scopes or perm in scopes


def teams_for(principal, perm):
    """The teams where `principal` holds `perm`: ALL_TEAMS, or a frozenset of team ids."""
    if perm not in PERMISSIONS:
        raise KeyError(f"unknown permission {perm!r}")
    if principal.user is None or not principal.user.is_active or not _token_allows(principal, perm):
        return frozenset()
    teams = set()
    for role, team_id in principal.assignments:
        if perm not in MATRIX.get(role, ()):
            continue
        if team_id is not None:
            teams.add(team_id)
        elif role in TEAM_BOUND_ROLES and PERMISSIONS[perm].team_scoped:
            teams |= principal.member_team_ids
        else:
            return ALL_TEAMS
    return frozenset(teams)


def can(principal, perm, team=None):
    """True if `principal` holds `perm`. A team-scoped permission asked without a
    team is granted only by an assignment that reaches every team."""
    scope = teams_for(principal, perm)
    if scope == ALL_TEAMS:
        return True
    if not PERMISSIONS[perm].team_scoped:
        return bool(scope)
    team_id = getattr(team, "pk", team)
    return team_id is not None and team_id in scope


def require(principal, perm, team=None, *, target=""):
    """Raise PermissionDeniedError (and audit the refusal) unless `principal` holds `perm`."""
    if can(principal, perm, team):
        return
    from . import audit

    team_id = getattr(team, "pk", team)
    audit.record(
        audit.Actor.of(principal),
        "permission.denied",
        summary={"permission": perm, "team": team_id, "target": target},
    )
    raise PermissionDeniedError(perm)


def scope_problems(principal, scopes, *, stepped_up):
    """Why `principal` may not issue a token with `scopes` (empty list: it may). A token never
    gets more than its issuer holds: not a permission the user lacks, not an interactive one
    without a fresh step-up in the browser, and from a token, nothing beyond that token's reach."""
    problems = []
    for scope in scopes:
        if scope not in PERMISSIONS:
            problems.append(f"unknown scope '{scope}'")
        elif not teams_for(Principal(principal.user, None, principal.assignments, principal.member_team_ids), scope):
            problems.append(f"you do not hold '{scope}'")
        elif principal.token is not None and not _token_allows(principal, scope):
            problems.append(f"the token you are using does not carry '{scope}'")
        elif PERMISSIONS[scope].interactive and principal.token is None and not stepped_up:
            problems.append(f"'{scope}' needs a fresh MFA step-up")
    if principal.token is not None and principal.token.scopes and not scopes:
        problems.append("a scoped token can only issue tokens with explicit scopes")
    return problems
