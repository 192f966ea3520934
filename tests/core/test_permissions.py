"""A2: every role against the permission matrix, team scoping, and token scopes."""

import pytest

from tocsin.core.permissions import (
    ALL_TEAMS,
    PERMISSIONS,
    ROLES,
    Principal,
    PermissionDeniedError,
    can,
    require,
    teams_for,
)
from tocsin.core.models import AuditEntry

# The specification, written out independently of the matrix in permissions.py:
# role -> permissions it must hold. Everything else must be refused.
_ALL = {"tokens:own", "incidents:read", "contacts:read", "oncall:read", "catalog:read"}
EXPECTED = {
    "admin": set(PERMISSIONS),
    "responder": _ALL | {"incidents:respond", "escalation:initiate", "oncall:manage", "catalog:manage"},
    "comms_lead": _ALL | {"status:publish", "comms:send"},
    "contact_steward": _ALL | {"contacts:reveal", "contacts:write", "contacts:export"},
    "security_officer": _ALL | {"audit:read", "access:review", "breach:manage"},
    "auditor": _ALL | {"audit:read", "audit:export", "access:review"},
    "viewer": set(_ALL),
}


def test_every_role_is_specified():
    assert set(EXPECTED) == set(ROLES)


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("perm", sorted(PERMISSIONS))
def test_role_against_matrix(make_user, make_team, role, perm):
    team = make_team(f"T-{role}-{perm}".replace(":", "-"))
    user = make_user(roles=[role], teams=[team.slug])
    principal = Principal.load(user)
    expected = perm in EXPECTED[role]
    # A member's own team is in reach for every permission the role holds.
    assert can(principal, perm, team) is expected
    if PERMISSIONS[perm].team_scoped and role in {"responder", "contact_steward"}:
        # Team-bound roles reach only their teams, never "everywhere".
        assert can(principal, perm) is False
    else:
        assert can(principal, perm) is expected


def test_responder_changes_only_their_teams(make_user, make_team):
    network, platform = make_team("Network"), make_team("Platform")
    ana = make_user(roles=["responder"], teams=["network"])
    principal = Principal.load(ana)
    assert teams_for(principal, "incidents:respond") == frozenset({network.pk})
    assert can(principal, "incidents:respond", network)
    assert not can(principal, "incidents:respond", platform)


def test_team_scoped_assignment_reaches_only_that_team(make_user, make_team):
    network, platform = make_team("Network"), make_team("Platform")
    steward = make_user(roles=[("contact_steward", "platform")])
    principal = Principal.load(steward)
    assert can(principal, "contacts:write", platform)
    assert not can(principal, "contacts:write", network)


def test_admin_reaches_every_team(make_user, make_team):
    make_team("Network")
    principal = Principal.load(make_user(roles=["admin"]))
    assert teams_for(principal, "contacts:write") == ALL_TEAMS


def test_inactive_user_holds_nothing(make_user):
    user = make_user(roles=["admin"])
    user.is_active = False
    assert not can(Principal.load(user), "tokens:own")


def test_token_scopes_limit_and_interactive_permissions_need_explicit_scope(make_user, make_team, bearer):
    from tocsin.core import audit, services

    team = make_team("Network")
    steward = make_user(roles=["contact_steward"], teams=["network"])
    broad, _ = services.issue_token(steward, actor=audit.Actor.system("t"), name="broad")
    narrow, _ = services.issue_token(steward, actor=audit.Actor.system("t"), name="narrow", scopes=["contacts:read"])
    machine, _ = services.issue_token(steward, actor=audit.Actor.system("t"), name="scim", scopes=["contacts:write"])
    assert can(Principal.load(steward, broad), "contacts:reveal", team)
    assert not can(Principal.load(steward, broad), "contacts:write", team)  # interactive: needs the scope
    assert not can(Principal.load(steward, narrow), "contacts:reveal", team)
    assert can(Principal.load(steward, machine), "contacts:write", team)
    assert not can(Principal.load(steward, machine), "contacts:reveal", team)


def test_denial_raises_and_is_audited(make_user):
    viewer = make_user(roles=["viewer"])
    with pytest.raises(PermissionDeniedError):
        require(Principal.load(viewer), "users:manage", target="/x")
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == "permission.denied"
    assert entry.actor_label == viewer.username
    assert entry.summary["permission"] == "users:manage"


def test_unknown_permission_is_a_programming_error(make_user):
    with pytest.raises(KeyError):
        can(Principal.load(make_user(roles=["admin"])), "no:such")
