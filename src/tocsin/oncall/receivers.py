"""Offboarding: a deactivated person's schedules are flagged in the audit log; the vacancy
itself is computed when read (selectors.vacancies), so pages and the API show it."""

from django.db import transaction
from django.db.models import Q

from tocsin.core import audit

from .models import Override, Participant, Schedule

ACTOR = audit.Actor.system("oncall")


def flag_schedules_of_deactivated(sender, *, person, roles=(), at=None, **kwargs):
    """Connected to directory.signals.person_deactivated (sent after commit)."""
    reasons = {}
    slots = (Participant.objects.filter(Q(person=person) | Q(role__slug__in=list(roles or ())))
             .select_related("layer", "role"))
    for slot in slots:
        if slot.person_id:
            why = f"{person.name} is a participant of layer '{slot.layer.name}' and was deactivated"
        else:
            why = f"{person.name} held role '{slot.role.name}' (layer '{slot.layer.name}') and was deactivated"
        reasons.setdefault(slot.layer.schedule_id, []).append(why)
    upcoming = Override.objects.filter(person=person)
    if at is not None:
        upcoming = upcoming.filter(ends_at__gt=at)
    for override in upcoming:
        reasons.setdefault(override.schedule_id, []).append(
            f"{person.name} holds override {override.pk} until {override.ends_at.isoformat()} and was deactivated")
    if not reasons:
        return
    with transaction.atomic():
        for schedule in Schedule.objects.filter(pk__in=reasons).order_by("pk"):
            audit.record(ACTOR, "oncall.schedule.flagged", schedule,
                         summary={"person": person.pk, "reasons": sorted(set(reasons[schedule.pk]))})


def connect():
    from tocsin.directory.signals import person_deactivated

    person_deactivated.connect(flag_schedules_of_deactivated, dispatch_uid="oncall.flag_schedules_of_deactivated")
