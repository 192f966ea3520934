"""Read-side checks on contact data: minimum methods for critical roles, overdue validations,
and roles left without a holder (coverage gaps). Each is a fixed number of queries."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Prefetch
from django.utils import timezone

from .models import ContactMethod, ContactPolicy, OrgRole, Person, RoleHolding, Stewardship


@dataclass
class MethodShortfall:
    person: Person
    roles: list
    verified: int
    kinds: int
    needed_verified: int
    needed_kinds: int


def below_minimum_methods(at=None):
    """Holders of critical roles whose verified, active methods fall short of the policy."""
    at = at or timezone.now()
    policy = ContactPolicy.get()
    holdings = RoleHolding.objects.filter(RoleHolding.current(at), role__critical=True, person__is_active=True)
    roles_by_person = defaultdict(list)
    for person_id, role_name in holdings.values_list("person_id", "role__name"):
        roles_by_person[person_id].append(role_name)
    people = Person.objects.filter(pk__in=roles_by_person).prefetch_related(
        Prefetch("methods", queryset=ContactMethod.objects.filter(is_active=True, verified=True), to_attr="verified_methods")
    )
    short = []
    for person in people:
        verified = len(person.verified_methods)
        kinds = len({m.kind for m in person.verified_methods})
        if verified < policy.critical_min_verified or kinds < policy.critical_min_kinds:
            short.append(
                MethodShortfall(person, sorted(roles_by_person[person.pk]), verified, kinds,
                                policy.critical_min_verified, policy.critical_min_kinds)
            )
    return sorted(short, key=lambda s: s.person.name)


@dataclass
class OverdueValidation:
    person: Person
    team: object
    steward: object
    due_since: object  # None: never validated


def overdue_validations(at=None, steward=None):
    """Active people whose details were not confirmed within their team's validation interval.
    A person in several stewarded teams is listed once, under the team that fell due first.
    Three queries, however many teams and people."""
    at = at or timezone.now()
    stewardships = Stewardship.objects.select_related("team", "steward")
    if steward is not None:
        stewardships = stewardships.filter(steward=steward)
    by_team = {s.team_id: s for s in stewardships}
    people = (
        Person.objects.filter(teams__in=list(by_team), is_active=True)
        .distinct()
        .prefetch_related("teams")
        .order_by("name", "pk")
    )
    overdue = []
    for person in people:
        candidates = []
        for team in person.teams.all():
            stewardship = by_team.get(team.pk)
            if stewardship is None:
                continue
            interval = timedelta(days=stewardship.validation_interval_days)
            due = person.last_validated_at + interval if person.last_validated_at else None
            if due is None or due <= at:
                candidates.append((due or person.created_at, due, stewardship))
        if candidates:
            _, due, stewardship = min(candidates, key=lambda c: c[0])
            overdue.append(OverdueValidation(person, stewardship.team, stewardship.steward, due))
    return overdue


def coverage_gaps(at=None):
    """Roles that resolve to nobody active at `at` and have no shared channel of their own."""
    at = at or timezone.now()
    held = RoleHolding.objects.filter(RoleHolding.current(at), person__is_active=True).values("role_id")
    shared = ContactMethod.objects.filter(role__isnull=False, is_active=True).values("role_id")
    return list(OrgRole.objects.exclude(pk__in=held).exclude(pk__in=shared).order_by("name"))


@dataclass
class SheetLevel:
    role: OrgRole
    people: list = field(default_factory=list)
    shared: list = field(default_factory=list)


def contact_sheet(at=None):
    """The emergency contact sheet (B12): roles with a sheet level, in order, resolved now."""
    from .resolution import resolve_role, shared_methods

    at = at or timezone.now()
    levels = []
    for role in OrgRole.objects.filter(sheet_level__isnull=False).order_by("sheet_level", "name"):
        levels.append(SheetLevel(role, resolve_role(role, at), shared_methods(role)))
    return levels
