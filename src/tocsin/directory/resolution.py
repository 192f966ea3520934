"""Who a role reaches at a given time: its current holders, with delegations applied.
Everything here is evaluated when read (start <= at < end), so no background job is needed."""

from django.utils import timezone

from .models import ContactMethod, Delegation, OrgRole, Person, RoleHolding

MAX_DELEGATION_HOPS = 5


def delegate_for(person, at=None):
    """The person who stands in for `person` at `at`: follows chains (Ana → Ben → Chen) and
    stops on a loop, on an inactive delegate, or after a few hops."""
    at = at or timezone.now()
    seen = {person.pk}
    current = person
    for _ in range(MAX_DELEGATION_HOPS):
        delegation = (
            Delegation.objects.filter(Delegation.current(at), delegator=current, delegate__is_active=True)
            .select_related("delegate")
            .order_by("-starts_at")
            .first()
        )
        if delegation is None or delegation.delegate_id in seen:
            break
        current = delegation.delegate
        seen.add(current.pk)
    return current


def holders(role, at=None):
    """The active people holding `role` at `at`, in holding order, before delegation."""
    at = at or timezone.now()
    return list(
        Person.objects.filter(
            pk__in=RoleHolding.objects.filter(RoleHolding.current(at), role=role).values("person_id"),
            is_active=True,
        ).order_by("name")
    )


def resolve_role(role, at=None):
    """The people a role reaches at `at`: each holder, or whoever stands in for them."""
    if isinstance(role, str):
        role = OrgRole.objects.get(slug=role)
    at = at or timezone.now()
    resolved = []
    for holder in holders(role, at):
        person = delegate_for(holder, at)
        if person not in resolved:
            resolved.append(person)
    return resolved


def shared_methods(role):
    """The role's own channels (a hotline, a shared mailbox), reached along with its holders."""
    return list(ContactMethod.objects.filter(role=role, is_active=True))
