"""E-mail replies to notifications: a reply to `ack+<token>@domain` (or one with `[ack:<token>]` in
its subject) acknowledges the incident; automatic replies are accepted and ignored.

Resolving by mail is deliberately narrow: only a reply whose first line is "resolve" and whose
token is a resolve token resolves. Any other reply acknowledges, whatever its token, because a
reply means "I have seen it" and nothing more."""

import logging
import re

from django.core.exceptions import ValidationError
from django.utils import timezone

from tocsin.core import mailboxes

from . import tokens

log = logging.getLogger("tocsin.notify")
VIA = "email"
SUBJECT_TOKEN = re.compile(r"\[\s*ack\s*:\s*([A-Za-z0-9]{1,100})\s*\]", re.IGNORECASE)
OUT_OF_OFFICE = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto[- ]?reply|autoreply|away from (the )?office|on vacation|"
    r"abwesenheit|r[ée]ponse automatique|absence)", re.IGNORECASE)
AUTOMATIC_PRECEDENCE = {"auto_reply", "bulk", "junk"}

IGNORED = "250 2.0.0 Accepted; automatic replies are ignored"
ACKNOWLEDGED = "250 2.0.0 Incident acknowledged"
RESOLVED = "250 2.0.0 Incident resolved"
UNCHANGED = "250 2.0.0 Accepted; the incident was already in that state"
NO_TOKEN = "550 5.1.1 Reply to the notification itself: this address needs its token"
REFUSED = "550 5.7.1 {reason}"


def _header(message, name):
    try:
        value = message.get(name)
    except Exception:  # malformed headers raise assorted errors; treat them as absent
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def is_automatic(message):
    """Out-of-office and other machine replies: RFC 3834's Auto-Submitted, the usual vendor
    headers, a bulk Precedence, or an out-of-office subject."""
    auto = _header(message, "Auto-Submitted").split(";")[0].strip().lower()
    if auto and auto != "no":
        return True
    if "X-Autoreply" in message or "X-Autorespond" in message:
        return True
    if _header(message, "Precedence").lower() in AUTOMATIC_PRECEDENCE:
        return True
    return bool(OUT_OF_OFFICE.match(_header(message, "Subject")))


def token_of(recipient, message):
    """The token from the plus-address, else from `[ack:<token>]` in the subject; '' if neither."""
    local = (recipient or "").rpartition("@")[0]
    _, plus, tag = local.partition("+")
    if plus and tag.strip():
        return tag.strip()
    found = SUBJECT_TOKEN.search(_header(message, "Subject"))
    return found.group(1) if found else ""


def first_line(message):
    """The first line of the reply's own text (quoted lines are the notification, not the reply)."""
    try:
        part = message.get_body(preferencelist=("plain",))
        text = part.get_content() if part is not None else ""
    except Exception:
        return ""
    for line in str(text).splitlines():
        line = line.strip()
        if line and not line.startswith(">"):
            return line.lower()
    return ""


def handle_reply(recipient, message, now=None):
    """The `ack` mailbox handler (see core.mailboxes): an SMTP reply line."""
    if is_automatic(message):
        return IGNORED
    token = token_of(recipient, message)
    if not token:
        return NO_TOKEN
    # None: the token's own action (resolve only for a resolve token); otherwise acknowledge.
    doing = None if first_line(message).split()[:1] == ["resolve"] else tokens.ACKNOWLEDGE
    now = now or timezone.now()
    try:
        ack, changed = tokens.act_with_token(token, now=now, via=VIA, doing=doing)
    except tokens.TokenRefused as refused:
        return REFUSED.format(reason=refused.reason)
    except ValidationError:
        return REFUSED.format(reason=tokens.CLOSED)
    log.info("incident answered by e-mail reply", extra={"incident": ack.incident_id, "changed": changed})
    if not changed:
        return UNCHANGED
    return RESOLVED if (doing or ack.action) == tokens.RESOLVE else ACKNOWLEDGED


def register_mailboxes():
    """Called from NotifyConfig.ready: the SMTP listener hands mail to `ack+…@` to handle_reply."""
    mailboxes.register(tokens.REPLY_MAILBOX, handle_reply)
