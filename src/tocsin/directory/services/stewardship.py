"""Stewardship use cases: signed "confirm my details" links and audited reads of history and access."""

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tocsin.core import audit
from tocsin.core.models import Membership, RoleAssignment
from tocsin.core.permissions import TEAM_BOUND_ROLES

from ..models import AccessGrant, Person

CONFIRM_SALT = "tocsin.confirm"
CONFIRM_MAX_AGE = 14 * 24 * 3600


def confirmation_token(person):
    """A link token naming the person; anyone holding it may confirm their details for 14 days."""
    return signing.TimestampSigner(salt=CONFIRM_SALT).sign(str(person.pk))


def person_for_token(token):
    """The active person a confirmation token names; ValidationError when expired, tampered or unknown."""
    try:
        person_id = signing.TimestampSigner(salt=CONFIRM_SALT).unsign(token, max_age=CONFIRM_MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError("This link has expired; ask your contact steward for a new one.") from None
    except signing.BadSignature:
        raise ValidationError("This link is not valid; check that it was copied completely.") from None
    person = Person.objects.filter(pk=int(person_id), is_active=True).first() if person_id.isdigit() else None
    if person is None:
        raise ValidationError("This link no longer points to anyone in the directory.")
    return person


def record_history_view(actor, person, basis):
    """Seeing clear values in a person's history is a reveal, so it is audited like one."""
    audit.record(actor, "contact.history_revealed", person, summary={"basis": basis})


def access_review(at=None):
    """Everyone's standing role assignments and current grants, for the access review (A7)."""
    at = at or timezone.now()
    assignments = list(
        RoleAssignment.objects.select_related("user", "team", "granted_by").order_by("user__username", "role")
    )
    grants = list(
        AccessGrant.objects.filter(AccessGrant.current(at))
        .select_related("grantee", "person", "team", "role", "decided_by")
        .order_by("grantee__username", "ends_at")
    )
    return assignments, grants


def _reach_label(assignment, member_teams):
    """What an assignment reaches: its team, every team, or (team-bound roles) the member teams."""
    if assignment.team:
        return assignment.team.slug
    if assignment.role in TEAM_BOUND_ROLES:
        return "(member teams: " + (", ".join(member_teams.get(assignment.user_id, [])) or "none") + ")"
    return "(all teams)"


def export_access_review(*, actor, at=None):
    """The review as rows for a CSV file; the export itself is audited."""
    at = at or timezone.now()
    assignments, grants = access_review(at)
    rows = [["kind", "user", "what", "team", "since", "until", "granted_by"]]
    member_teams = {}
    for user_id, slug in Membership.objects.values_list("user_id", "team__slug").order_by("team__slug"):
        member_teams.setdefault(user_id, []).append(slug)
    for a in assignments:
        rows.append([
            "role", a.user.username, a.role, _reach_label(a, member_teams),
            a.granted_at.isoformat(), "", a.granted_by.username if a.granted_by else "",
        ])
    for g in grants:
        rows.append([
            "grant", g.grantee.username, g.scope_label, "", g.starts_at.isoformat(), g.ends_at.isoformat(),
            g.decided_by.username if g.decided_by else "(self-approved)",
        ])
    with transaction.atomic():
        audit.record(actor, "access.review_exported", summary={"assignments": len(assignments), "grants": len(grants)})
    return rows
