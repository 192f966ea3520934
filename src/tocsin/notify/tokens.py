"""Acknowledgement tokens and the acts of a paged person: issue, redeem once, and acknowledge, resolve or escalate as them."""

import base64
import hashlib
import ipaddress
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction

from tocsin.core import audit, mailboxes
from tocsin.escalation.models import NotificationRequest
from tocsin.incidents import services as incidents
from tocsin.incidents.models import Incident

from .models import AckToken

TOKEN_BYTES = 32  # 256 bits
DEFAULT_TTL = timedelta(hours=24)
MAX_TOKEN_LENGTH = 100
ACKNOWLEDGE, RESOLVE, ESCALATE = "ack", "resolve", "escalate"
REPLY_MAILBOX = "ack"


class TokenRefused(Exception):
    """A token that cannot act. `reason` is safe to show to whoever holds the token: it says what is
    wrong with the link, never anything about an incident. `status` is the HTTP answer (404 or 410)."""

    def __init__(self, reason, status=410):
        super().__init__(reason)
        self.reason = reason
        self.status = status


UNKNOWN = "This link is not valid. Use the newest message, or open Tocsin."
USED = "This link has already been used."
EXPIRED = "This link has expired. Open Tocsin to act on the incident."
CLOSED = "The incident is already resolved; there is nothing left to do."


def digest(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _canonical(token):
    # Base32 in lower case: safe in a URL and in an e-mail local part, which some servers fold to
    # one case, so any case is accepted back.
    token = (token or "").strip().lower()
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return ""
    return token


def make(person, incident, action, *, now, ttl=DEFAULT_TTL):
    """(token, its unsaved AckToken row): for callers that store many rows at once."""
    if action not in dict(AckToken.ACTIONS):
        raise ValidationError({"action": f"Unknown action '{action}'. Known: {', '.join(dict(AckToken.ACTIONS))}."})
    if ttl <= timedelta(0):
        raise ValidationError({"ttl": "A token must live for some time."})
    token = base64.b32encode(secrets.token_bytes(TOKEN_BYTES)).decode("ascii").rstrip("=").lower()
    return token, AckToken(digest=digest(token), person_id=person.pk, incident_id=incident.pk, action=action,
                           expires_at=now + ttl, created_at=now)


def issue(person, incident, action, *, now, ttl=DEFAULT_TTL):
    """A fresh token for `person` to `action` ("ack" or "resolve") `incident`; only its digest is stored."""
    token, row = make(person, incident, action, now=now, ttl=ttl)
    row.save(force_insert=True)
    return token


def _refusal(ack, now):
    if ack.used_at is not None:
        return TokenRefused(USED)
    if ack.expires_at <= now:
        return TokenRefused(EXPIRED)
    if ack.incident.status == Incident.RESOLVED:
        return TokenRefused(CLOSED)
    return None


def _find(token, action, *, lock):
    token = _canonical(token)
    if not token:
        raise TokenRefused(UNKNOWN, status=404)
    rows = AckToken.objects.select_related("incident", "person__user")
    if lock:
        rows = rows.select_for_update(of=("self",))
    ack = rows.filter(digest=digest(token)).first()
    if ack is None or (action is not None and ack.action != action):
        raise TokenRefused(UNKNOWN, status=404)
    return ack


def check(token, *, now, action=None):
    """The token's row if it could act now; changes nothing (a GET, a mail scanner)."""
    ack = _find(token, action, lock=False)
    refusal = _refusal(ack, now)
    if refusal is not None:
        raise refusal
    return ack


def redeem(token, *, now, action=None):
    """Mark the token used and return it, or raise TokenRefused. Call it inside the transaction that
    performs the action: the row lock makes a second, concurrent redeem wait and then see it used."""
    with transaction.atomic():
        ack = _find(token, action, lock=True)
        refusal = _refusal(ack, now)
        if refusal is not None:
            raise refusal
        ack.used_at = now
        ack.save(update_fields=["used_at"])
    return ack


def reply_address(token):
    """The Reply-To of a notification e-mail: a reply to it acknowledges (see mail_replies)."""
    return f"{REPLY_MAILBOX}+{token}@{mailboxes.domain()}"


def replies_reach_us():
    """Whether a reply address can be given out: not while Tocsin's mail domain is localhost or
    an IP address (the default BASE_URL's), where no reply would arrive."""
    domain = mailboxes.domain()
    try:
        ipaddress.ip_address(domain.strip("[]"))
    except ValueError:
        return domain != "localhost"
    return False


# --- acting as a paged person ---------------------------------------------------------------------


def actor_for(person):
    """Who acts when a person answers a page: their login if they have an active one, else the
    person by id (no name: the audit chain keeps no personal data), as the SMTP listener does."""
    user = person.user
    if user is not None and user.is_active:
        return audit.Actor.user(user)
    return audit.Actor.anonymous(f"person {person.pk}")


def was_paged(person, incident):
    return NotificationRequest.objects.filter(person=person, incident=incident).exists()


def open_pages(person):
    """The open incidents this person was paged for, oldest first."""
    paged = NotificationRequest.objects.filter(person=person).values("incident_id")
    return list(Incident.objects.filter(pk__in=paged, status__in=(Incident.TRIGGERED, Incident.ACKNOWLEDGED))
                .order_by("number"))


def act(incident, action, *, person, via, now):
    """Acknowledge, resolve or escalate `incident` as `person`. Returns True when it changed the
    incident; raises ValidationError (naming the field) when the incident is closed."""
    actor = actor_for(person)
    with transaction.atomic():
        if action == ACKNOWLEDGE:
            _, changed = incidents.acknowledge(incident, actor=actor, via=via, at=now)
        elif action == RESOLVE:
            _, changed = incidents.resolve(incident, actor=actor, via=via, at=now)
        elif action == ESCALATE:
            incidents.escalate_now(incident, actor=actor, via=via, at=now)
            changed = True
        else:
            raise ValidationError({"action": f"Unknown action '{action}'."})
        if changed and actor.type == "anonymous":
            # The incident services audit logins and API tokens; a person without a login answering
            # a page is a human action too, so it goes into the chain here.
            name = {ACKNOWLEDGE: "acknowledge", RESOLVE: "resolve", ESCALATE: "escalate_now"}[action]
            audit.record(actor, f"incident.{name}", incident, at=now,
                         summary={"number": incident.number, "via": via, "person": person.pk})
    return changed


def act_with_token(token, *, now, via, action=None, doing=None):
    """Redeem `token` and perform its action (or `doing`, when given) in one transaction, so a
    failure leaves the token unused and a double submission acts once."""
    with transaction.atomic():
        ack = redeem(token, now=now, action=action)
        changed = act(ack.incident, doing or ack.action, person=ack.person, via=via, now=now)
    ack.incident.refresh_from_db()
    return ack, changed
