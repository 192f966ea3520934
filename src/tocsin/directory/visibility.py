"""Need-to-know: who may see contact values, and the audited reveal of one.

Stewards (for their teams) and admins have standing access. A person sees their own details.
Anyone else needs a current just-in-time grant, or an active incident they are assigned to that
needs the person; incident apps register that rule through `register_need`."""

from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from tocsin.core import audit
from tocsin.core.permissions import ALL_TEAMS, teams_for

from .models import AccessGrant, RoleHolding
from .values import mask

_need_rules = []


@dataclass(frozen=True)
class Decision:
    allowed: bool
    basis: str = ""  # standing, self, grant, incident
    grant_id: int | None = None
    incident: str = ""

    def __bool__(self):
        return self.allowed


def register_need(rule):
    """`rule(user, person, at, context)` returns an incident reference (such as '#42') when the
    user's active incident needs the person, else None."""
    _need_rules.append(rule)


def _person_team_ids(person):
    # .all() reads the prefetch cache when the caller loaded `teams`, so list pages stay flat.
    return {team.pk for team in person.teams.all()}


def can_edit_person(principal, person):
    """contacts:write for any of the person's teams; a person in no team is for those who
    reach every team. The one rule for the UI, the API and the exports."""
    reach = teams_for(principal, "contacts:write")
    return reach == ALL_TEAMS or bool(reach and reach & _person_team_ids(person))


def teams_out_of_write_reach(principal, teams):
    """The teams among `teams` where `principal` may not change contact data."""
    reach = teams_for(principal, "contacts:write")
    return [] if reach == ALL_TEAMS else [team for team in teams if team.pk not in reach]


def can_view_contact(principal, person, context=None, at=None):
    """The one policy for reading contact values. `context` may name an incident."""
    at = at or timezone.now()
    user = principal.user
    if user is None or not user.is_active:
        return Decision(False)
    reach = teams_for(principal, "contacts:reveal")
    if reach == ALL_TEAMS or (reach and reach & _person_team_ids(person)):
        return Decision(True, "standing")
    if getattr(person, "user_id", None) == user.pk:
        return Decision(True, "self")
    if principal.token is not None and not reach:
        return Decision(False)  # machines read values only with a standing scope
    grant = _covering_grant(user, person, at)
    if grant is not None:
        return Decision(True, "grant", grant_id=grant.pk)
    for rule in _need_rules:
        incident = rule(user, person, at, context or {})
        if incident:
            return Decision(True, "incident", incident=str(incident))
    return Decision(False)


def _covering_grant(user, person, at):
    roles_held = RoleHolding.objects.filter(RoleHolding.current(at), person=person).values("role_id")
    scope = Q(person=person) | Q(team__in=person.teams.all()) | Q(role__in=roles_held)
    return AccessGrant.objects.filter(AccessGrant.current(at), scope, grantee=user).order_by("-ends_at").first()


def reveal(principal, method, context=None):
    """Return the clear value if allowed, writing an audit entry for every reveal; else None."""
    value, _ = reveal_with_basis(principal, method, context)
    return value


def reveal_with_basis(principal, method, context=None):
    """(value or None, Decision): the same audited reveal, saying on what ground it was allowed."""
    person = method.person
    decision = _shared_decision(principal, method) if person is None else can_view_contact(principal, person, context)
    summary = {"person": person.pk if person else None, "kind": method.kind}
    if not decision:
        audit.record(audit.Actor.of(principal), "contact.reveal_denied", method, summary=summary)
        return None, decision
    audit.record(
        audit.Actor.of(principal), "contact.revealed", method,
        summary={**summary, "basis": decision.basis, "grant": decision.grant_id, "incident": decision.incident},
    )
    return method.value, decision


def _shared_decision(principal, method):
    """A role's or team's own channel is not personal data, so anyone may read it, except a
    webhook: its URL usually embeds a secret, so it takes standing access to the owner's team."""
    if method.kind != "webhook":
        return Decision(True, "shared")
    team = method.team or (method.role.team if method.role else None)
    reach = teams_for(principal, "contacts:reveal")
    if reach == ALL_TEAMS or (team is not None and reach and team.pk in reach):
        return Decision(True, "standing")
    return Decision(False)


def masked(method):
    return mask(method.kind, method.value)
