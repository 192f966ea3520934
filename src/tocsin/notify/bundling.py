"""Bundling: one message for several pages to the same person on the same method.

Pages due together are always sent as one message, at once. A later page (a follow-up or a
repeat) to someone who got a message on that channel within the window waits for the window's end
and goes out with whatever else has gathered. The first page of an incident is never held back
(DESIGN: paging versus batching), with one deliberate exception: once a person has had
FLOOD_CAP messages on a channel within the window, everything further waits for the window's
end, so that a storm of incidents cannot send one person hundreds of SMS."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Max

from .models import Attempt

FLOOD_CAP = 5
REACHED = (Attempt.SENDING, Attempt.SENT, Attempt.DELIVERED, Attempt.BUNDLED)


def window():
    return timedelta(seconds=settings.TOCSIN_BUNDLE_SECONDS)


def groups(attempts):
    """Attempts due now, by destination: [(carrier, [carried…])], the oldest page carrying."""
    by_destination = {}
    for attempt in sorted(attempts, key=lambda a: (a.due_at, a.pk)):
        by_destination.setdefault((attempt.person_id, attempt.channel, attempt.method_id), []).append(attempt)
    return [(found[0], found[1:]) for found in by_destination.values()]


class Recent:
    """What each person of a batch has had lately, read in two queries for the whole batch."""

    def __init__(self, attempts, now):
        self.now, self.since = now, now - window()
        people = {a.person_id for a in attempts}
        sent = (Attempt.objects.filter(person_id__in=people, sent_at__gte=self.since, status__in=REACHED)
                .exclude(carrier__isnull=False).values("person_id", "channel")
                .annotate(n=Count("id"), last=Max("sent_at")).order_by())
        self.per_channel = {(row["person_id"], row["channel"]): (row["n"], row["last"]) for row in sent}
        incidents = {a.incident_id for a in attempts}
        self.paged = set(Attempt.objects.filter(person_id__in=people, incident_id__in=incidents, status__in=REACHED)
                         .values_list("incident_id", "person_id").distinct())

    def first_page(self, attempt):
        return (attempt.incident_id, attempt.person_id) not in self.paged

    def hold_until(self, carrier, carried):
        """When the group may go out (None: now)."""
        count, last = self.per_channel.get((carrier.person_id, carrier.channel), (0, None))
        if last is None:
            return None
        if count >= FLOOD_CAP:
            return last + window()
        if any(self.first_page(a) for a in [carrier, *carried]):
            return None
        return last + window()
