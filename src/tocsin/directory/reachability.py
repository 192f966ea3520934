"""Which of a person's methods may be used now, and for what.

Routine paging uses active `routine` methods inside their availability windows. In emergency
state, availability windows are ignored and `emergency_only` methods join too, but only while
the person's consent to emergency contact stands: those are typically private numbers."""

from django.utils import timezone

from .availability import is_available
from .models import Consent, ContactMethod


def has_consent(person, purpose, at=None):
    """The newest consent record for `purpose` stands (given, not withdrawn) at `at`."""
    at = at or timezone.now()
    latest = Consent.objects.filter(person=person, purpose=purpose, given_at__lte=at).order_by("-given_at").first()
    return latest is not None and (latest.withdrawn_at is None or latest.withdrawn_at > at)


def usable_methods(person, *, emergency=False, at=None):
    """The methods to try, in the person's order."""
    at = at or timezone.now()
    if not person.is_active:
        return []
    methods = ContactMethod.objects.filter(person=person, is_active=True).order_by("order", "pk")
    if not emergency:
        return [m for m in methods if m.usage == ContactMethod.ROUTINE and is_available(m.availability, at)]
    private_allowed = has_consent(person, Consent.EMERGENCY_CONTACT, at)
    return [m for m in methods if m.usage == ContactMethod.ROUTINE or private_allowed]
