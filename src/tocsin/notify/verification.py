"""Proving that a contact method reaches its owner (B2, B7): a six-digit code sent through the method
itself, confirmed by typing it in (or, for e-mail, by a one-click link), then the method is marked
verified through the directory's own service."""

import hashlib
import hmac
import secrets
import struct
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse

from tocsin.core import audit
from tocsin.directory import services as directory
from tocsin.directory.models import ContactMethod
from tocsin.directory.values import mask

from . import direct, links
from .chains import CHANNEL_OF
from .models import EMAIL, SMS, VOICE, MethodVerification
from .provider_choice import Catalogue
from .providers.base import Message

CODE_DIGITS = 6
TTL = timedelta(minutes=15)
MAX_TRIES = 5  # wrong codes; then the code is dead and a new one must be sent
STARTS_PER_HOUR = 3  # per method: a code costs an SMS or a call, and must not become a way to harass
CHANNELS = (SMS, VOICE, EMAIL)
LINK, CALL = b"LINK", b"CALL"  # what a ticket may be used for

NONE_WAITING = "No code is waiting for this method: send a new one."
EXPIRED = "This code has expired: send a new one."
LOCKED = "Too many wrong codes: this code no longer works. Send a new one."
USED = "This code has already been used."


class VerificationRefused(Exception):
    """A confirmation that cannot go ahead. `reason` is safe to show to whoever holds the code or
    link; `status` is the HTTP answer."""

    def __init__(self, reason, status=410):
        super().__init__(reason)
        self.reason = reason
        self.status = status


class TooManyStarts(Exception):
    def __init__(self, retry_after):
        super().__init__(f"At most {STARTS_PER_HOUR} codes an hour for one method; try again in "
                         f"{max(1, retry_after // 60)} minutes.")
        self.retry_after = retry_after


class NotSent(Exception):
    """No provider took the message; the code was never usable."""


def digest(code, method):
    """Bound to the method and to the value it has now: a code sent to the old number of a method
    whose number changed since verifies nothing."""
    return hashlib.sha256(f"{code}:{method.pk}:{method.value_index}".encode("ascii")).hexdigest()


def channel_of(method):
    """The channel a method's code travels on; ValidationError (naming the method) when it has none."""
    if method.person_id is None:
        raise ValidationError({"method": "Only a person's own contact methods are verified by code."})
    if not method.is_active:
        raise ValidationError({"method": "This contact method is switched off; switch it on first."})
    channel = CHANNEL_OF.get(method.kind)
    if channel not in CHANNELS:
        raise ValidationError({"method": f"A {method.get_kind_display()} method cannot receive a code; "
                                         "it is verified by a steward."})
    return channel


# --- tickets: the code, sealed, in a URL ---------------------------------------------------------
# A voice call's TwiML must read the code out, and the e-mail link must carry it, yet only a digest is
# stored. So the URL carries (verification id, code) sealed in one AES block under a key derived
# from SECRET_KEY: one block is a keyed permutation of 128 bits, so no mode is needed, and the
# 4-byte purpose inside it is the check that the block was made here.


def _cipher():
    key = hmac.new(settings.SECRET_KEY.encode(), b"tocsin.notify.verification", hashlib.sha256).digest()
    return Cipher(algorithms.AES(key), modes.ECB())  # noqa: S305 - a single block, see above


def ticket(verification_id, code, purpose):
    sealer = _cipher().encryptor()
    block = struct.pack(">QI4s", verification_id, int(code), purpose)
    return uuid.UUID(bytes=sealer.update(block) + sealer.finalize())


def read_ticket(value, purpose):
    """(verification id, code) of a ticket made for `purpose`, or None."""
    try:
        raw = value.bytes if isinstance(value, uuid.UUID) else uuid.UUID(str(value)[:40]).bytes
    except ValueError:
        return None
    opener = _cipher().decryptor()
    verification_id, code, found = struct.unpack(">QI4s", opener.update(raw) + opener.finalize())
    if not hmac.compare_digest(found, purpose) or code >= 10 ** CODE_DIGITS:
        return None
    return verification_id, f"{code:0{CODE_DIGITS}d}"


def link_url(verification_id, code):
    return links.absolute(reverse("notify-verify-link", args=[ticket(verification_id, code, LINK).hex]))


def voice_url(verification_id, code):
    return links.absolute(reverse("notify-verify-voice", args=[ticket(verification_id, code, CALL)]))


# --- starting ------------------------------------------------------------------------------------


@dataclass
class Sent:
    verification: MethodVerification
    channel: str
    destination: str  # masked
    provider: str


def _message(method, channel, verification, code):
    minutes = int(TTL.total_seconds() // 60)
    key = f"verify-{verification.pk}-{time.time_ns()}"
    if channel == SMS:
        text = (f"Tocsin verification code: {code}. It expires in {minutes} minutes. "
                "If you did not ask for it, ignore this message.")
        return Message(channel=SMS, to=method.value, subject="", text=text, key=key)
    if channel == VOICE:
        return Message(channel=VOICE, to=method.value, subject="", text="Tocsin verification code", key=key,
                       voice_url=voice_url(verification.pk, code))
    link = link_url(verification.pk, code)
    text = (f"Your Tocsin verification code is {code}.\n\n"
            f"Type it in Tocsin, or confirm this address with one click:\n{link}\n\n"
            f"The code and the link expire in {minutes} minutes. If you did not ask for them, ignore this e-mail.")
    html = (f"<p>Your Tocsin verification code is <strong>{code}</strong>.</p>"
            f'<p>Type it in Tocsin, or <a href="{link}">confirm this address with one click</a>.</p>'
            f"<p>The code and the link expire in {minutes} minutes. "
            "If you did not ask for them, ignore this e-mail.</p>")
    return Message(channel=EMAIL, to=method.value, subject="Your Tocsin verification code", text=text,
                   html=html, key=key, data={"verification": True})


def start_verification(method, *, actor, now, catalogue=None):
    """Send a fresh code through `method` and return what was sent (never the code). Raises
    ValidationError for a method that cannot take a code, TooManyStarts past the hourly limit,
    NotSent when no provider took the message."""
    channel = channel_of(method)
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    with transaction.atomic():
        locked = ContactMethod.objects.filter(pk=method.pk)
        if connection.features.has_select_for_update:
            locked = locked.select_for_update()
        list(locked)  # two starts at once count one after the other
        recent = list(MethodVerification.objects.filter(method=method, created_at__gt=now - timedelta(hours=1))
                      .order_by("created_at").values_list("created_at", flat=True))
        if len(recent) >= STARTS_PER_HOUR:
            retry_after = int((recent[0] + timedelta(hours=1) - now).total_seconds()) + 1
            raise TooManyStarts(retry_after)
        # A new code replaces any earlier one still waiting.
        MethodVerification.objects.filter(method=method, used_at__isnull=True, expires_at__gt=now).update(
            expires_at=now)
        verification = MethodVerification.objects.create(method=method, digest=digest(code, method),
                                                         expires_at=now + TTL, created_at=now)
        audit.record(actor, "contact.verification_started", method, at=now,
                     summary={"person": method.person_id, "channel": channel, "verification": verification.pk})
    message = _message(method, channel, verification, code)
    provider, problem = direct.first_taker((catalogue or Catalogue()).candidates(channel, message.to), message,
                                           channel)
    if not provider:
        MethodVerification.objects.filter(pk=verification.pk).update(expires_at=now)
        audit.record(actor, "contact.verification_not_sent", method, at=now,
                     summary={"person": method.person_id, "channel": channel, "error": problem})
        raise NotSent(f"The code could not be sent: {problem}")
    return Sent(verification, channel, mask(method.kind, method.value), provider)


# --- confirming ----------------------------------------------------------------------------------


def _clean(code):
    code = "".join(ch for ch in str(code or "") if ch not in " -")
    if len(code) != CODE_DIGITS or not code.isascii() or not code.isdigit():
        raise ValidationError({"code": f"The code is {CODE_DIGITS} digits."})
    return code


def _refusal(verification, now):
    if verification is None:
        return VerificationRefused(NONE_WAITING, 404)
    if verification.used_at is not None:
        return VerificationRefused(USED)
    if verification.tries >= MAX_TRIES:
        return VerificationRefused(LOCKED)
    if verification.expires_at <= now:
        return VerificationRefused(EXPIRED)
    return None


def is_open(verification, now):
    """Whether `verification` could still be confirmed at `now`."""
    return verification is not None and _refusal(verification, now) is None


def waiting(method):
    """The method's newest verification, used or not (None if it never had one)."""
    return MethodVerification.objects.filter(method=method).order_by("-created_at", "-pk").first()


def _confirm(verification, method, code, *, actor, now, how, source):
    refusal = _refusal(verification, now)
    if refusal is not None:
        raise refusal
    summary = {"person": method.person_id, "verification": verification.pk, "how": how}
    if not hmac.compare_digest(verification.digest, digest(code, method)):
        with transaction.atomic():
            counted = MethodVerification.objects.filter(pk=verification.pk, used_at__isnull=True,
                                                        tries__lt=MAX_TRIES).update(tries=F("tries") + 1)
            tries = MethodVerification.objects.values_list("tries", flat=True).get(pk=verification.pk)
            if counted:
                audit.record(actor, "contact.verification_failed", method, at=now, summary={**summary, "tries": tries})
                if tries >= MAX_TRIES:
                    audit.record(actor, "contact.verification_locked", method, at=now, summary=summary)
        if tries >= MAX_TRIES:
            raise VerificationRefused(LOCKED)
        left = MAX_TRIES - tries
        raise VerificationRefused(f"The code is wrong; {left} {'try' if left == 1 else 'tries'} left.", 400)
    with transaction.atomic():
        taken = MethodVerification.objects.filter(pk=verification.pk, used_at__isnull=True, tries__lt=MAX_TRIES,
                                                  expires_at__gt=now).update(used_at=now)
        if not taken:  # used, locked or expired by a concurrent request
            raise _refusal(MethodVerification.objects.get(pk=verification.pk), now) or VerificationRefused(USED)
        # The directory's own use case: it sets verified/verified_at, keeps the history and audits
        # the confirmation (contact.method_verified, how="code" or "link").
        directory.mark_verified(method, actor=actor, source=source, how=how)
    return method


def confirm_code(method, code, *, actor, now, source="ui"):
    """Mark `method` verified if `code` is the one last sent to it. Raises ValidationError for a
    malformed code (not counted), VerificationRefused for a wrong (counted), expired or dead one."""
    code = _clean(code)
    return _confirm(waiting(method), method, code, actor=actor, now=now, how="code", source=source)


def link_verification(token):
    """(verification, code) of an e-mail link's token, or raise VerificationRefused (404)."""
    found = read_ticket(token, LINK)
    verification = None
    if found is not None:
        verification = MethodVerification.objects.filter(pk=found[0]).select_related("method__person__user").first()
    if verification is None or not hmac.compare_digest(verification.digest, digest(found[1], verification.method)):
        raise VerificationRefused("This link is not valid. Use the newest message, or send a new code.", 404)
    return verification, found[1]


def check_link(token, *, now):
    """The verification behind an e-mail link if it could confirm now; changes nothing (a GET,
    a mail scanner)."""
    verification, _ = link_verification(token)
    refusal = _refusal(verification, now)
    if refusal is not None:
        raise refusal
    return verification


def confirm_link(token, *, actor, now):
    verification, code = link_verification(token)
    return _confirm(verification, verification.method, code, actor=actor, now=now, how="link", source="ui")


def call_code(ticket_value, *, now):
    """The code a verification call should read out, or None when the call's ticket is not (or no
    longer) usable."""
    found = read_ticket(ticket_value, CALL)
    if found is None:
        return None
    verification = MethodVerification.objects.filter(pk=found[0]).select_related("method").first()
    if verification is None or _refusal(verification, now) is not None:
        return None
    if not hmac.compare_digest(verification.digest, digest(found[1], verification.method)):
        return None
    return found[1]
