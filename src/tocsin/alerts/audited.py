"""Changing and removing a rule row with its audit entry: the shape every alert rule shares."""

from django.db import transaction

from tocsin.core import audit


def update_row(row, cleaned, *, actor, action, summary):
    """Apply `cleaned` to the row (locked), and audit what changed, if anything did."""
    with transaction.atomic():
        row = type(row).objects.select_for_update().get(pk=row.pk)
        before = summary(row)
        for field, value in cleaned.items():
            setattr(row, field, value)
        row.save()
        after = summary(row)
        if after != before:
            audit.record(actor, action, row, summary=audit.changes(before, after))
    return row


def delete_row(row, *, actor, action, summary):
    """Remove the row, auditing what it was; False when it was already gone."""
    with transaction.atomic():
        described = summary(row)
        deleted, _ = type(row).objects.filter(pk=row.pk).delete()
        if deleted:
            audit.record(actor, action, object_type=row._meta.label_lower, object_id=str(row.pk), summary=described)
    return bool(deleted)
