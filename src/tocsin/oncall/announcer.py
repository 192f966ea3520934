"""Announces on-call events (shift started, handoff, gap found) once each; an engine job runs it
every minute. `announce(now)` is pure in its clock, and the Announcement table's unique keys make
it exactly-once across restarts and several processes (a row is inserted before its signal is
sent, and sent after commit)."""

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from tocsin.directory.models import Person

from . import signals, timeline
from .loading import load_plans
from .models import Announcement, Schedule
from .selectors import GAP_LOOKAHEAD

log = logging.getLogger("tocsin.oncall.announcer")
# After a long outage, events older than this are stale news: they are skipped, not sent late.
CATCH_UP = timedelta(hours=1)


def announce(now=None):
    """Announce what happened on every schedule since it was last examined, up to `now`, and
    the gaps found in the look-ahead. Returns the number of events sent."""
    now = now or timezone.now()
    schedules = list(Schedule.objects.all())
    if not schedules:
        return 0
    checked = dict(Announcement.objects.filter(kind=Announcement.CHECKED).values_list("schedule_id", "at"))
    since = {s.pk: _since(s, checked.get(s.pk), now) for s in schedules}
    earliest = min(since.values())
    plans, people = load_plans(Schedule.objects.filter(pk__in=[s.pk for s in schedules]), earliest, now + GAP_LOOKAHEAD)
    known_gaps = _gaps_announced(earliest)
    events, still_open = [], {}
    for schedule in schedules:
        found, gaps = timeline.timeline(plans[schedule.pk], since[schedule.pk], now + GAP_LOOKAHEAD, people)
        events += _events(schedule, since[schedule.pk], now, found, gaps, known_gaps.get(schedule.pk, ()), still_open)
    return _record_and_send(events, schedules, now, still_open)


def _since(schedule, checked_at, now):
    start = checked_at or schedule.created_at
    return min(now, max(start, now - CATCH_UP))


def _gaps_announced(earliest):
    """schedule id -> [(pk, start, until)] of the gaps announced that were still open at `earliest`."""
    known = {}
    rows = Announcement.objects.filter(kind=Announcement.GAP_FOUND, until__gt=earliest)
    for pk, schedule_id, start, until in rows.values_list("pk", "schedule_id", "at", "until"):
        known.setdefault(schedule_id, []).append((pk, start, until))
    return known


def _events(schedule, since, now, found, gaps, known_gaps, still_open):
    """(schedule, kind, key, at, payload) of the events in (since, now], and of the gaps ahead.
    Announced gaps that are still open go into `still_open` (pk -> where they end now)."""
    events = []
    continued = {(shift.person_id, shift.end) for shift in found}
    for shift in found:
        # A shift clipped at `since` began before this window and was announced by an earlier run;
        # one that only continues the person's previous shift (new provenance) is no news either.
        if not since < shift.start <= now or (shift.person_id, shift.start) in continued:
            continue
        key = f"shift:{schedule.pk}:{shift.person_id}:{shift.start.isoformat()}"
        events.append((Announcement.SHIFT_STARTED, key, shift.start, {"shift": shift}))
    for instant in sorted({s.start for s in found if since < s.start <= now}):
        before = {s.person_id for s in found if s.start < instant <= s.end}
        after = {s.person_id for s in found if s.start <= instant < s.end}
        left, joined = before - after, after - before
        if left and joined:
            for person_id in sorted(joined):
                key = f"handoff:{schedule.pk}:{person_id}:{instant.isoformat()}"
                events.append((Announcement.HANDOFF, key, instant, {"previous": sorted(left), "person": person_id}))
    for gap in gaps:
        # A gap clipped at `since` is news only if no announced gap was open then: it appeared
        # because the schedule changed (a layer removed, someone deactivated).
        known = [pk for pk, start, until in known_gaps if start <= since < until]
        if gap.start == since and known:
            still_open.update((pk, gap.end) for pk in known)  # so it stays known past the old look-ahead
            continue
        key = f"gap:{schedule.pk}:{gap.start.isoformat()}"
        events.append((Announcement.GAP_FOUND, key, gap.start, {"gap": gap}))
    return [(schedule, *event) for event in events]


def _record_and_send(events, schedules, now, still_open):
    fresh = []
    with transaction.atomic():
        for pk, until in still_open.items():
            Announcement.objects.filter(pk=pk, until__lt=until).update(until=until)
        for schedule, kind, key, at, payload in events:
            try:
                with transaction.atomic():
                    Announcement.objects.create(schedule=schedule, kind=kind, key=key, at=at,
                                                until=payload["gap"].end if kind == Announcement.GAP_FOUND else None)
            except IntegrityError:
                # Announced already, by an earlier run or another process; a gap seen further
                # ahead now keeps its row covering it, so it is not news when it begins.
                if kind == Announcement.GAP_FOUND:
                    Announcement.objects.filter(key=key, until__lt=payload["gap"].end).update(until=payload["gap"].end)
                continue
            fresh.append((schedule, kind, at, payload))
        _advance(schedules, now)
        transaction.on_commit(lambda: _send(fresh))
    return len(fresh)


def _advance(schedules, now):
    """Move every schedule's `checked` row to `now` (never back), creating the missing ones."""
    Announcement.objects.filter(kind=Announcement.CHECKED, at__lt=now).update(at=now)
    Announcement.objects.bulk_create(
        [Announcement(schedule=s, kind=Announcement.CHECKED, key=f"checked:{s.pk}", at=now) for s in schedules],
        ignore_conflicts=True)  # rows that exist (this or another process) stay as they are


def _send(fresh):
    ids = set()
    for _, kind, _, payload in fresh:
        if kind == Announcement.SHIFT_STARTED:
            ids.add(payload["shift"].person_id)
        elif kind == Announcement.HANDOFF:
            ids.update((payload["person"], *payload["previous"]))
    people = Person.objects.in_bulk(ids)
    for schedule, kind, at, payload in fresh:
        if kind == Announcement.SHIFT_STARTED:
            shift = payload["shift"]
            results = signals.shift_started.send_robust(
                Schedule, schedule=schedule, person=people.get(shift.person_id), start=shift.start, end=shift.end,
                assignment=shift.assignment)
        elif kind == Announcement.HANDOFF:
            results = signals.handoff.send_robust(
                Schedule, schedule=schedule, previous=[people[p] for p in payload["previous"] if p in people],
                person=people.get(payload["person"]), at=at)
        else:
            gap = payload["gap"]
            results = signals.gap_found.send_robust(Schedule, schedule=schedule, start=gap.start, end=gap.end)
        for receiver, outcome in results:
            if isinstance(outcome, Exception):
                log.error("on-call %s receiver %s failed: %s", kind, getattr(receiver, "__qualname__", receiver),
                          type(outcome).__name__)
