"""Who a tier reaches at the moment of the step: people as they are (with delegation), roles to
their holders, schedules to whoever is on call. Then the tier's selection picks among them."""

from collections import Counter

from django.db.models import Count

from tocsin.core.permissions import ADMIN
from tocsin.directory.models import Delegation, OrgRole, Person
from tocsin.directory.resolution import delegate_for, resolve_role
from tocsin.incidents.models import Incident

from .models import RoundRobinPosition


def administrators():
    """The installation's final fallback: the active people of active administrators, by name."""
    from django.contrib.auth import get_user_model

    admins = get_user_model().objects.filter(is_active=True, role_assignments__role=ADMIN)
    return Person.objects.filter(user__in=admins, is_active=True).order_by("name").distinct()


def resolve(targets, at):
    """The active people `targets` reach at `at`, in target order, each once."""
    people = []
    person_ids = [t.id for t in targets if t.type == "person"]
    persons = Person.objects.in_bulk(person_ids) if person_ids else {}
    away = set(Delegation.objects.filter(Delegation.current(at), delegator_id__in=person_ids)
               .values_list("delegator_id", flat=True)) if person_ids else set()
    for target in targets:
        if target.type == "person":
            person = persons.get(target.id)
            if person is None or not person.is_active:
                continue
            found = [delegate_for(person, at) if person.pk in away else person]
        elif target.type == "role":
            role = OrgRole.objects.filter(pk=target.id).first()
            found = resolve_role(role, at) if role else []
        else:
            found = _on_call(target.id, at)
        people.extend(p for p in found if p.is_active and p not in people)
    return people


def _on_call(schedule_id, at):
    from tocsin.oncall.models import Schedule
    from tocsin.oncall.selectors import oncall_at

    schedule = Schedule.objects.filter(pk=schedule_id).first()
    if schedule is None:
        return []
    return [entry.person for entry in oncall_at(schedule, at) if entry.person is not None]


def select(tier, tier_index, policy_id, people, assigned_meanwhile=()):
    """(chosen people, note): the tier's selection applied to the people it reaches.
    `assigned_meanwhile` are person ids given incidents in this batch, not yet written."""
    if not people or tier.selection == "all":
        return people, ""
    if tier.selection == "expertise":
        wanted = set(tier.tags)
        matching = [p for p in people if wanted <= {str(tag).strip().lower() for tag in (p.tags or [])}]
        if matching:
            return matching, f"matching {', '.join(sorted(wanted))}"
        return people, f"nobody has {', '.join(sorted(wanted))}; paging everyone in the tier"
    if tier.selection == "least_loaded":
        load = Counter(dict(Incident.objects.filter(status__in=Incident.OPEN, assigned_to__in=people)
                            .values_list("assigned_to").annotate(n=Count("pk"))))
        load.update(assigned_meanwhile)
        chosen = min(people, key=lambda p: (load.get(p.pk, 0), people.index(p)))
        return [chosen], f"least loaded ({load.get(chosen.pk, 0)} open)"
    return [_next_in_turn(policy_id, tier_index, people)], "round robin"


def _next_in_turn(policy_id, tier_index, people):
    """Round robin over the people ordered by id, so that changes in who is reachable do not reset
    the turn; the position row is locked, so concurrent incidents take consecutive turns."""
    RoundRobinPosition.objects.bulk_create([RoundRobinPosition(policy_id=policy_id, tier=tier_index)],
                                           ignore_conflicts=True)
    position = RoundRobinPosition.objects.select_for_update().get(policy_id=policy_id, tier=tier_index)
    ordered = sorted(people, key=lambda p: p.pk)
    chosen = next((p for p in ordered if position.last_person_id is None or p.pk > position.last_person_id),
                  ordered[0])
    position.last_person_id = chosen.pk
    position.save(update_fields=["last_person_id"])
    return chosen


def resolve_objects(objects, at):
    """Like `resolve`, for model instances (Person, OrgRole, Schedule) chosen by hand."""
    from tocsin.oncall.models import Schedule

    kinds = {Person: "person", OrgRole: "role", Schedule: "schedule"}
    return resolve([_Target(kinds[type(obj)], obj.pk) for obj in objects], at)


class _Target:
    def __init__(self, type, id):
        self.type, self.id = type, id
