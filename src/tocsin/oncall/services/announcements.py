"""Retention of the announcer's records: what was announced long ago is forgotten."""

from django.db.models import Q

from ..models import Announcement

DEFAULT_DAYS = 30


def purge_announcements(cutoff, *, actor, dry_run):
    """Deletes announcements about instants before `cutoff`. Kept: each schedule's progress
    marker (its one `checked` row: where the announcer has read its timeline up to) and gaps
    still open at `cutoff` (the announcer looks them up, or would announce them again)."""
    due = (Announcement.objects.filter(at__lt=cutoff).exclude(kind=Announcement.CHECKED)
           .filter(Q(until__isnull=True) | Q(until__lt=cutoff)))
    return due.count() if dry_run else due.delete()[0]
