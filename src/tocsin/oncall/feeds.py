"""Calendar feed tokens: issued once, stored only as a digest, found by that digest, and who may
create or revoke which feed."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from tocsin.core.permissions import ALL_TEAMS, PermissionDeniedError, can, require, teams_for

from .models import CalendarFeed

PREFIX = "tcf_"
SHOWN = 12  # "tcf_" and 8 characters: enough to recognise a feed in a list, far from enough to use it
MAX_LENGTH = 200
# A calendar client polls every few minutes; writing last_used_at on each poll would be a write per
# poll for nothing, as with API tokens.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(schedule=None, person=None, created_by=None):
    """A new feed of `schedule` or of `person`: (feed, secret). The secret is not kept."""
    secret = PREFIX + secrets.token_urlsafe(24)
    feed = CalendarFeed.objects.create(
        token_digest=digest(secret), token_prefix=secret[:SHOWN], schedule=schedule, person=person,
        created_by=created_by,
    )
    return feed, secret


def lookup(secret, now=None):
    """The live feed `secret` opens, or None: unknown, revoked and malformed all look the same.
    A feed whose creator's login was deactivated or deleted stops with it."""
    if not isinstance(secret, str) or not secret.startswith(PREFIX) or len(secret) > MAX_LENGTH:
        return None
    wanted = digest(secret)
    feed = (CalendarFeed.objects.select_related("schedule", "person", "created_by")
            .filter(token_digest=wanted, revoked_at__isnull=True).first())
    # The unique index found the row; the comparison itself stays constant-time.
    if feed is None or not hmac.compare_digest(feed.token_digest, wanted):
        return None
    if feed.created_by is None or not feed.created_by.is_active:
        return None
    now = now or timezone.now()
    if feed.last_used_at is None or now - feed.last_used_at >= LAST_USED_RESOLUTION:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
        feed.last_used_at = now
    return feed


def manages_person(principal, person):
    """oncall:manage over one of `person`'s teams (or everywhere)."""
    scope = teams_for(principal, "oncall:manage")
    if scope == ALL_TEAMS:
        return True
    return bool(scope) and any(team.pk in scope for team in person.teams.all())


def may_create(principal, *, schedule=None, person=None):
    """Anyone who sees schedules may subscribe to one; a personal feed is for oneself, or for
    someone an oncall:manage holder looks after."""
    if schedule is not None:
        return can(principal, "oncall:read")
    user = principal.user
    if user is not None and person.user_id is not None and person.user_id == user.pk and can(principal, "oncall:read"):
        return True
    return manages_person(principal, person)


def refuse(principal, perm, team=None, *, target):
    """The 403 (the page or the API's JSON) for a feed or person out of reach; when `principal`
    lacks `perm` altogether, `require` also audits the refusal."""
    require(principal, perm, team, target=target)
    raise PermissionDeniedError(perm)  # holds it, but not over this feed or person


def may_revoke(principal, feed):
    user = principal.user
    if user is not None and feed.created_by_id == user.pk:
        return True
    if feed.schedule_id is not None:
        return can(principal, "oncall:manage", feed.schedule.team_id)
    return manages_person(principal, feed.person)


def address(feed, secret):
    """The absolute subscription address, as a calendar application needs it."""
    if feed.schedule_id:
        path = reverse("oncall-schedule-calendar", args=[feed.schedule.slug])
    else:
        path = reverse("oncall-person-calendar", args=[feed.person_id])
    return f"{settings.BASE_URL}{path}?token={secret}"
