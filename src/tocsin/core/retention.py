"""Retention: each app registers its record types with a default period and a purge function;
`tocsin purge` runs them. Purges anonymise or delete whole records, never rows of the audit chain."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from . import audit


@dataclass(frozen=True)
class RecordType:
    key: str
    description: str
    default_days: int
    purge: object  # purge(cutoff, *, actor, dry_run) -> number of records affected


_registry = {}


def register(key, description, default_days, purge):
    _registry[key] = RecordType(key, description, default_days, purge)


def record_types():
    return dict(_registry)


def period(record_type):
    """(days, enabled): the operator's rule if there is one, else the default."""
    from .models import RetentionRule

    rule = RetentionRule.objects.filter(record_type=record_type.key).first()
    return (rule.days, rule.enabled) if rule else (record_type.default_days, True)


def run(*, actor, dry_run=False, now=None):
    """Purge everything past its period. Returns {record type: count}."""
    now = now or timezone.now()
    results = {}
    for key, record_type in sorted(_registry.items()):
        days, enabled = period(record_type)
        if not enabled:
            continue
        with transaction.atomic():
            count = record_type.purge(now - timedelta(days=days), actor=actor, dry_run=dry_run)
            if count and not dry_run:
                audit.record(actor, "retention.purged", summary={"record_type": key, "count": count, "days": days})
        results[key] = count
    return results
