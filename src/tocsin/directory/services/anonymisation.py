"""Retention of people: anonymise those deactivated long ago, history tables included;
audit entries keep their references (ids), which carry no personal data."""

from django.db import transaction
from django.utils import timezone

from tocsin.core import audit

from ..models import AccessGrant, ContactMethod, ExternalId, Person


def anonymise_person(person, *, actor):
    placeholder = f"Former person #{person.pk}"
    with transaction.atomic():
        person.teams.clear()  # first: it writes a history snapshot, which the updates below then blank
        ContactMethod.history.filter(person_id=person.pk).update(value="", value_index="", label="")
        method_ids = list(ContactMethod.objects.filter(person=person).values_list("pk", flat=True))
        ContactMethod.objects.filter(pk__in=method_ids).delete()
        # The deletions above wrote history rows with the last values; blank those too.
        ContactMethod.history.filter(id__in=method_ids).update(value="", value_index="", label="")
        ExternalId.objects.filter(person=person).delete()
        Person.history.filter(id=person.pk).update(name=placeholder, tags=[], organisation="", support_sla="", user=None)
        Person.objects.filter(pk=person.pk).update(
            name=placeholder, tags=[], organisation="", support_sla="", user=None, anonymised_at=timezone.now()
        )
        audit.record(actor, "person.anonymised", person)


def purge_deactivated_people(cutoff, *, actor, dry_run):
    due = Person.objects.filter(is_active=False, anonymised_at__isnull=True, deactivated_at__lt=cutoff)
    if dry_run:
        return due.count()
    count = 0
    for person in due.iterator():
        anonymise_person(person, actor=actor)
        count += 1
    return count


def purge_ended_grants(cutoff, *, actor, dry_run):
    due = AccessGrant.objects.filter(ends_at__lt=cutoff).exclude(status=AccessGrant.PENDING)
    return due.count() if dry_run else due.delete()[0]
