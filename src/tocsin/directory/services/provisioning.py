"""Provisioning by an identity provider (SCIM): create, replace, (de)activate people and sync groups to teams."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import router, transaction
from django.db.models.deletion import Collector
from django.utils.text import slugify

from tocsin.core import audit
from tocsin.core import services as core_services
from tocsin.core.crypto import blind_index
from tocsin.core.models import Team

from ..models import ContactMethod, ExternalId, Person
from .methods import add_method, remove_method, update_method
from .people import add_external_id, create_person, deactivate_person, reactivate_person, update_person

SOURCE = "scim"
# The identity provider's keys for a person. Kept as ExternalId rows so lookups by them
# never touch encrypted columns; only people with a USER_NAME row are SCIM users.
USER_NAME = "scim:userName"
EXTERNAL_ID = "scim:externalId"
# Methods the identity provider owns carry this label: SCIM replaces and removes only these,
# so an emergency number a steward added in Tocsin survives every sync.
MANAGED_LABEL = "scim"
MANAGED_KINDS = (ContactMethod.EMAIL, ContactMethod.ALT_EMAIL, ContactMethod.SMS, ContactMethod.VOICE)


class Conflict(Exception):
    """The change clashes with existing state (HTTP 409): a unique value someone else holds
    (`uniqueness`), or a deletion other records still depend on (no SCIM type)."""

    def __init__(self, attribute, message, scim_type="uniqueness"):
        super().__init__(message)
        self.attribute, self.message, self.scim_type = attribute, message, scim_type


@dataclass(frozen=True)
class UserRecord:
    """What the identity provider says about a person, already validated and normalised.
    `active` and `time_zone` None mean: leave Tocsin's value alone."""

    user_name: str
    name: str
    external_id: str | None = None
    active: bool | None = None
    time_zone: str | None = None
    contacts: dict = field(default_factory=dict)  # ContactMethod kind -> normalised value


def lookup_key(source, value):
    """What is stored and searched for an identity-provider identifier: a keyed digest, so the
    userName (usually an e-mail address) is never kept in clear; userName matches ignore case."""
    normal = value.lower() if source == USER_NAME else value
    return "h:" + blind_index(normal, f"external:{source}")


def record_read(person_ids, *, actor):
    """SCIM answers carry e-mail addresses and numbers in clear: each read is a reveal."""
    if person_ids:
        audit.record(actor, "contacts.scim_read", summary={"people": person_ids})


def scim_people():
    return Person.objects.filter(pk__in=ExternalId.objects.filter(source=USER_NAME).values("person_id"))


def _check_unique(person, record):
    taken = ExternalId.objects.filter(source=USER_NAME, value=lookup_key(USER_NAME, record.user_name))
    if person is not None:
        taken = taken.exclude(person=person)
    if taken.exists():
        raise Conflict("userName", "Another user already has this userName.")
    if record.external_id is not None:
        taken = ExternalId.objects.filter(source=EXTERNAL_ID, value=lookup_key(EXTERNAL_ID, record.external_id))
        if person is not None:
            taken = taken.exclude(person=person)
        if taken.exists():
            raise Conflict("externalId", "Another user already has this externalId.")


def create_user(record, *, actor):
    with transaction.atomic():
        _check_unique(None, record)
        fields = {"name": record.name}
        if record.time_zone:
            fields["time_zone"] = record.time_zone
        person = create_person(actor=actor, source=SOURCE, **fields)
        _set_external_id(person, USER_NAME, record.user_name, actor)
        if record.external_id is not None:
            _set_external_id(person, EXTERNAL_ID, record.external_id, actor)
        for kind, value in record.contacts.items():
            add_method(actor=actor, source=SOURCE, person=person, kind=kind, value=value, label=MANAGED_LABEL)
        if record.active is False:
            deactivate_person(person, actor=actor, source=SOURCE)
    return person


def update_user(person, record, *, actor):
    """Bring `person` in line with `record`; an unchanged attribute writes nothing."""
    with transaction.atomic():
        _check_unique(person, record)
        if record.active is True and not person.is_active:
            # First, so methods added below start out active.
            _reactivate(person, actor)
        fields = {}
        if record.name != person.name:
            fields["name"] = record.name
        if record.time_zone and record.time_zone != person.time_zone:
            fields["time_zone"] = record.time_zone
        if fields:
            update_person(person, actor=actor, source=SOURCE, **fields)
        _set_external_id(person, USER_NAME, record.user_name, actor)
        _set_external_id(person, EXTERNAL_ID, record.external_id, actor)
        _sync_methods(person, record.contacts, actor)
        if record.active is False and person.is_active:
            deactivate_person(person, actor=actor, source=SOURCE)
    return person


def deactivate_user(person, *, actor):
    """Deprovisioning never deletes: the person stays, inactive, with history intact."""
    with transaction.atomic():
        if person.is_active:
            deactivate_person(person, actor=actor, source=SOURCE)
    return person


def _reactivate(person, actor):
    """The person and the methods the identity provider owns come back; methods added in
    Tocsin stay inactive until a steward confirms they are still right."""
    reactivate_person(person, actor=actor, source=SOURCE)
    for method in person.methods.filter(label=MANAGED_LABEL, kind__in=MANAGED_KINDS, is_active=False):
        update_method(method, actor=actor, source=SOURCE, is_active=True)


def _set_external_id(person, source, value, actor):
    current = ExternalId.objects.filter(person=person, source=source).first()
    if current is not None and current.sealed == value:
        return
    if current is not None:
        current.delete()
        audit.record(actor, "person.external_id_removed", person, summary={"source": source})
    if value is not None:
        add_external_id(person, source, lookup_key(source, value), sealed=value, actor=actor)


def _sync_methods(person, contacts, actor):
    managed = {m.kind: m for m in person.methods.filter(label=MANAGED_LABEL, kind__in=MANAGED_KINDS)}
    for kind in MANAGED_KINDS:
        method, value = managed.get(kind), contacts.get(kind)
        if method is None and value is not None:
            add_method(
                actor=actor, source=SOURCE, person=person, kind=kind, value=value, label=MANAGED_LABEL,
                is_active=person.is_active,
            )
        elif method is not None and value is None:
            remove_method(method, actor=actor, source=SOURCE)
        elif method is not None and method.value != value:
            update_method(method, actor=actor, source=SOURCE, value=value)


# --- groups -------------------------------------------------------------------


def _check_team_name(name, team=None):
    if not slugify(name):
        raise ValidationError({"displayName": "A group name needs at least one letter or digit."})
    clash = Team.objects.filter(name__iexact=name)
    if team is None:
        clash = clash | Team.objects.filter(slug=slugify(name))
    else:
        clash = clash.exclude(pk=team.pk)
    if clash.exists():
        raise Conflict("displayName", f"A group named '{name}' exists already.")


def create_group(name, members, *, actor):
    with transaction.atomic():
        _check_team_name(name)
        team = core_services.create_team(actor=actor, name=name)
        set_members(team, members, actor=actor)
    return team


def update_group(team, *, actor, name=None, members=None):
    """Rename the team and/or make its SCIM members exactly `members` (people outside SCIM stay)."""
    with transaction.atomic():
        if name is not None and name != team.name:
            _check_team_name(name, team)
            before, team.name = team.name, name
            # The slug stays: it is the team's address in URLs and in the API.
            team.save(update_fields=["name"])
            audit.record(actor, "team.renamed", team, summary={"from": before, "to": name, "source": SOURCE})
        if members is not None:
            set_members(team, members, actor=actor)
    return team


def set_members(team, members, *, actor):
    with transaction.atomic():
        current = set(scim_people().filter(teams=team))
        wanted = set(members)
        added, removed = sorted(wanted - current, key=lambda p: p.pk), sorted(current - wanted, key=lambda p: p.pk)
        for person in added:
            update_person(person, actor=actor, source=SOURCE, teams=[*person.teams.all(), team])
        for person in removed:
            update_person(person, actor=actor, source=SOURCE, teams=[t for t in person.teams.all() if t.pk != team.pk])
        if added or removed:
            audit.record(
                actor, "team.people_synced", team,
                summary={"source": SOURCE, "added": [p.pk for p in added], "removed": [p.pk for p in removed]},
            )
    return team


def _blockers(team):
    """What else deleting `team` would delete or detach, by model name: Collector sees every
    relation, including ones that apps added after this was written."""
    collector = Collector(using=router.db_for_write(Team))
    collector.collect([team])
    harmless = {Team, Person.teams.through}
    found = set()
    for model, objs in collector.data.items():
        if model not in harmless and objs:
            found.add(model._meta.verbose_name_plural)
    for query in collector.fast_deletes:
        if query.model not in harmless and query.exists():
            found.add(query.model._meta.verbose_name_plural)
    for (fk, _value), batches in collector.field_updates.items():
        if any(len(batch) if isinstance(batch, (list, set, tuple)) else batch.exists() for batch in batches):
            found.add(fk.model._meta.verbose_name_plural)
    return sorted(str(name) for name in found)


def delete_group(team, *, actor):
    """Delete a team the identity provider created and nothing else uses; a team that holds
    roles, shared channels, logins or people managed in Tocsin is refused, never cascaded away."""
    with transaction.atomic():
        set_members(team, [], actor=actor)
        if Person.objects.filter(teams=team).exists():
            raise Conflict("members", "The team has people who are not managed through SCIM; remove them in Tocsin first.", None)
        blockers = _blockers(team)
        if blockers:
            raise Conflict("id", f"The team is still used by: {', '.join(blockers)}; detach those in Tocsin first.", None)
        summary = {"name": team.name, "slug": team.slug, "source": SOURCE}
        pk = team.pk
        team.delete()
        audit.record(actor, "team.deleted", object_type="core.team", object_id=str(pk), summary=summary)
