"""Changing notification rules and providers: one function per use case, each audited."""

import json

from django.core.exceptions import ValidationError
from django.db import transaction

from tocsin.core import audit
from tocsin.directory.models import ContactMethod

from .chains import CHANNEL_OF
from .models import URGENCIES, NotificationRule, Provider
from .providers import load
from .providers.base import implementation

MAX_RULES = 10
MAX_DELAY_MINUTES = 24 * 60


def set_notification_rules(person, urgency, rules, *, actor):
    """Replace `person`'s chain for `urgency` with `rules`: [(method id, delay in minutes)], in
    order. An empty list brings the default chain back."""
    if urgency not in dict(URGENCIES):
        raise ValidationError({"urgency": f"'{urgency}' is not an urgency; use high or low."})
    if len(rules) > MAX_RULES:
        raise ValidationError({"rules": f"At most {MAX_RULES} steps per chain."})
    methods = {m.pk: m for m in ContactMethod.objects.filter(person=person, pk__in=[r[0] for r in rules])}
    made = []
    for index, (method_id, delay) in enumerate(rules):
        method = methods.get(method_id)
        if method is None:
            raise ValidationError({f"rules[{index}].method": f"Method {method_id} is not one of {person.name}'s."})
        if method.kind not in CHANNEL_OF:
            raise ValidationError({f"rules[{index}].method": f"A {method.get_kind_display()} method cannot be paged."})
        if not isinstance(delay, int) or not 0 <= delay <= MAX_DELAY_MINUTES:
            raise ValidationError({f"rules[{index}].delay_minutes": f"Use whole minutes from 0 to {MAX_DELAY_MINUTES}."})
        made.append(NotificationRule(person=person, urgency=urgency, position=index, delay_minutes=delay,
                                     method=method))
    with transaction.atomic():
        NotificationRule.objects.filter(person=person, urgency=urgency).delete()
        NotificationRule.objects.bulk_create(made)
        audit.record(actor, "notify.rules_set", person, summary={
            "urgency": urgency, "steps": [{"kind": r.method.kind, "delay_minutes": r.delay_minutes} for r in made]})
    return made


PROVIDER_FIELDS = {"name", "kind", "channels", "priority", "settings", "enabled", "rate_per_minute", "max_concurrent",
                   "sla_percent", "sla_seconds"}


def _check_provider(provider):
    load()
    cls = implementation(provider.kind)
    if cls is None:
        raise ValidationError({"kind": f"'{provider.kind}' is not a provider kind."})
    if not isinstance(provider.channels, list) or not provider.channels:
        raise ValidationError({"channels": f"Name the channels it serves: {', '.join(cls.channels)}."})
    wrong = [c for c in provider.channels if c not in cls.channels]
    if wrong:
        raise ValidationError({"channels": f"A {provider.kind} provider cannot serve {', '.join(wrong)}."})
    if not isinstance(provider.settings, dict):
        raise ValidationError({"settings": "Settings are a JSON object."})


def save_provider(provider=None, *, actor, secrets=None, **fields):
    """Create (`provider` None) or change a provider; `secrets` (a dict) replaces the stored ones."""
    unknown = set(fields) - PROVIDER_FIELDS
    if unknown:
        raise ValidationError({name: "Unknown field." for name in sorted(unknown)})
    creating = provider is None
    provider = provider or Provider()
    for name, value in fields.items():
        setattr(provider, name, value)
    if secrets is not None:
        if not isinstance(secrets, dict):
            raise ValidationError({"secrets": "Secrets are a JSON object."})
        provider.secrets = json.dumps(secrets)
    _check_provider(provider)
    provider.full_clean(exclude=["secrets"])
    with transaction.atomic():
        provider.save()
        audit.record(actor, "notify.provider_created" if creating else "notify.provider_changed", provider,
                     summary={"name": provider.name, "kind": provider.kind, "fields": sorted(fields),
                              "secrets_changed": secrets is not None})
    return provider
