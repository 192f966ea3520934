"""Use cases for people: create, update, deactivate (offboarding), external ids, consent, validation."""

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from tocsin.core import audit
from tocsin.core import services as core_services

from ..models import Consent, ContactMethod, ExternalId, Person, RoleHolding
from ..signals import person_deactivated
from tocsin.core.history import stamp

_EDITABLE = {"name", "time_zone", "site", "tags", "organisation", "is_vendor", "support_sla", "user"}


def _clean(fields):
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
        if not fields["name"] or len(fields["name"]) > 200:
            raise ValidationError({"name": "A name of 1 to 200 characters is required."})
    if "time_zone" in fields:
        try:
            ZoneInfo(fields["time_zone"])
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValidationError({"time_zone": f"'{fields['time_zone']}' is not a known time zone, such as Europe/Berlin."}) from None
    if "tags" in fields:
        tags = fields["tags"] or []
        if not isinstance(tags, list) or not all(isinstance(t, str) and 0 < len(t) <= 50 for t in tags):
            raise ValidationError({"tags": "Tags are a list of short words."})
        fields["tags"] = sorted({t.strip().lower() for t in tags})
    return fields


def _state(person):
    return {
        "name": person.name, "time_zone": person.time_zone, "site": person.site_id, "tags": person.tags,
        "organisation": person.organisation, "is_vendor": person.is_vendor, "support_sla": person.support_sla,
        "is_active": person.is_active, "user": person.user_id,
    }


def create_person(*, actor, source="ui", teams=(), **fields):
    unknown = set(fields) - _EDITABLE
    if unknown:
        raise ValidationError({name: "Unknown field." for name in unknown})
    fields = _clean({"name": fields.get("name", ""), **fields})
    person = Person(**fields)
    with transaction.atomic():
        stamp(person, actor, source)
        person.save()
        if teams:
            person.teams.set(teams)
        audit.record(actor, "person.created", person, summary={"source": source, "teams": [t.slug for t in teams]})
    return person


def update_person(person, *, actor, source="ui", teams=None, **fields):
    unknown = set(fields) - _EDITABLE
    if unknown:
        raise ValidationError({name: "Unknown field." for name in unknown})
    fields = _clean(fields)
    before = _state(person)
    before_teams = sorted(person.teams.values_list("slug", flat=True))
    for name, value in fields.items():
        setattr(person, name, value)
    person.updated_at = timezone.now()
    with transaction.atomic():
        stamp(person, actor, source)
        person.save()
        summary = audit.changes(before, _state(person), sensitive={"name"})
        if teams is not None:
            person.teams.set(teams)
            after_teams = sorted(t.slug for t in teams)
            if after_teams != before_teams:
                summary["teams"] = {"from": before_teams, "to": after_teams}
        if summary:
            audit.record(actor, "person.updated", person, summary={"source": source, **summary})
    return person


def deactivate_person(person, *, actor, source="ui", at=None):
    """Offboarding: the person, their methods and their current role holdings end now.
    Listeners of `person_deactivated` (schedules, escalation policies) report the gaps left."""
    at = at or timezone.now()
    with transaction.atomic():
        stamp(person, actor, source)
        person.is_active = False
        person.updated_at = person.deactivated_at = at
        person.save()
        methods = 0
        for method in ContactMethod.objects.filter(person=person, is_active=True):
            stamp(method, actor, source)
            method.is_active = False
            method.save()
            methods += 1
        ended = []
        for holding in RoleHolding.objects.filter(RoleHolding.current(at), person=person).select_related("role"):
            stamp(holding, actor, source)
            holding.ends_at = at if at > holding.starts_at else holding.starts_at + timedelta(microseconds=1)
            holding.save()
            ended.append(holding.role.slug)
        login_closed = _close_login(person, actor)
        audit.record(
            actor, "person.deactivated", person,
            summary={"source": source, "methods": methods, "roles_ended": ended, "login_closed": login_closed},
        )
        transaction.on_commit(lambda: person_deactivated.send(Person, person=person, roles=ended, at=at))
    return ended


def reactivate_person(person, *, actor, source="ui"):
    """Someone comes back (a rehire, a reversed leave): active again. Ended role holdings and
    deactivated methods stay as they are until someone who knows confirms them."""
    with transaction.atomic():
        stamp(person, actor, source)
        person.is_active, person.deactivated_at, person.updated_at = True, None, timezone.now()
        person.save(update_fields=["is_active", "deactivated_at", "updated_at"])
        audit.record(actor, "person.reactivated", person, summary={"source": source})
    return person


def _close_login(person, actor):
    """An offboarded person must not keep a working login or API tokens."""
    if person.user_id is None or not person.user.is_active:
        return False
    core_services.set_active(person.user, False, actor=actor)
    return True


def add_external_id(person, source, value, *, actor, sealed=""):
    """`sealed`: the clear identifier when `value` is only its digest (see ExternalId)."""
    try:
        with transaction.atomic():
            external = ExternalId.objects.create(person=person, source=source, value=value, sealed=sealed)
            audit.record(actor, "person.external_id_added", person, summary={"source": source})
    except IntegrityError:
        raise ValidationError({"external_id": f"This {source} id belongs to someone else."}) from None
    return external


def record_consent(person, purpose, *, actor, source="ui"):
    if purpose not in dict(Consent.PURPOSES):
        raise ValidationError({"purpose": f"Unknown purpose '{purpose}'."})
    with transaction.atomic():
        consent = Consent.objects.create(person=person, purpose=purpose, source=source)
        audit.record(actor, "consent.given", person, summary={"purpose": purpose, "source": source})
    return consent


def withdraw_consent(person, purpose, *, actor, source="ui"):
    with transaction.atomic():
        count = Consent.objects.filter(person=person, purpose=purpose, withdrawn_at__isnull=True).update(
            withdrawn_at=timezone.now()
        )
        if count:
            audit.record(actor, "consent.withdrawn", person, summary={"purpose": purpose, "source": source})
    return count


def confirm_details(person, *, actor, source="ui"):
    """The person (or their steward) confirms the details are right: resets the validation clock."""
    with transaction.atomic():
        person.last_validated_at = timezone.now()
        stamp(person, actor, source)
        person.save(update_fields=["last_validated_at"])
        audit.record(actor, "person.validated", person, summary={"source": source})
    return person
