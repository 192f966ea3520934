"""The inbound SMTP listener: alert e-mail to integration mailboxes, and outage reports to `report@`.

Recipients are checked at RCPT, so an unknown mailbox is refused before any data is sent. A
message is answered 250 only once its alerts are committed. Mail is stored in a transaction of
its own rather than through the HTTP path's group-commit writer: mail arrives a message at a
time, so there is nothing to group, and the reply to each message then stands for exactly its
own commit (a failure is a 451, which the sending server retries)."""

import asyncio
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from aiosmtpd.smtp import SMTP
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from tocsin.catalog.models import Service
from tocsin.core import mailboxes
from tocsin.core.audit import Actor
from tocsin.directory.models import ContactMethod
from tocsin.directory.values import index_for, normalise

from . import limits, lookup, mail, routing
from .models import Integration
from .services_reports import report_outage
from .store import store_events

log = logging.getLogger("tocsin.alerts")
DEFAULT_PORT = 2525
REPORT_MAILBOX = "report"
MAX_RECIPIENTS = 20
BIND_RETRY_SECONDS = 30
REPORT_SUBJECT = re.compile(r"^\s*\[\s*([A-Za-z0-9_-]{1,120})\s*\]\s*(.*)$", re.DOTALL)
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="alerts-smtp")

ACCEPTED = "250 2.0.0 Accepted"
IGNORED = "250 2.0.0 Accepted; automatic replies are ignored"
UNKNOWN_MAILBOX = "550 5.1.1 No such mailbox here"
UNKNOWN_SENDER = "550 5.7.1 The sender is not a known person in the Tocsin directory"
TOO_MANY_UNKNOWN = "450 4.7.1 Too many unknown mailboxes from this address; try again later"
UNREADABLE = "550 5.6.0 The message could not be read"
NOT_STORED = "451 4.3.0 The message could not be stored; try again later"


class Refused(Exception):
    """A message refused as a whole, with the SMTP reply that says why."""

    def __init__(self, reply):
        super().__init__(reply)
        self.reply = reply


def _reply_text(value, limit=200):
    """Text safe to put in an SMTP reply line: printable ASCII, one line, bounded."""
    return "".join(c if " " <= c <= "~" else "?" for c in str(value))[:limit]


def mailbox_of(address):
    """The local part of a recipient, without a `+tag`: the integration key or `report`."""
    local = (address or "").rpartition("@")[0] if "@" in (address or "") else (address or "")
    return local.split("+", 1)[0].strip().lower()


def peer_ip(session):
    peer = session.peer
    return peer[0] if isinstance(peer, tuple) and peer else "unknown"


async def _in_thread(fn, *args):
    def run():
        try:
            return fn(*args)
        finally:
            connection.close()  # a pool thread: leave no connection behind for the next caller
    return await asyncio.get_running_loop().run_in_executor(_pool, run)


def known_person(address):
    """The active person whose e-mail contact method is `address`, through its blind index."""
    try:
        digest = index_for(ContactMethod.EMAIL, normalise(ContactMethod.EMAIL, address))
    except ValidationError:
        return None
    method = (ContactMethod.objects.filter(
        value_index=digest, kind__in=[ContactMethod.EMAIL, ContactMethod.ALT_EMAIL], is_active=True,
        person__isnull=False, person__is_active=True).select_related("person__user").order_by("pk").first())
    return method.person if method else None


def reporter(person):
    user = person.user
    if user is not None and user.is_active:
        return Actor.user(user)
    return Actor.anonymous(f"person {person.pk} by e-mail")


def _report(message, envelope_from, now):
    """Open a manual report from a mail to the report address, or refuse it naming the problem."""
    person = known_person(mail.sender(message, envelope_from))
    if person is None:
        raise Refused(UNKNOWN_SENDER)
    found = REPORT_SUBJECT.match(mail.header(message, "Subject"))
    if found is None:
        raise Refused("550 5.6.0 Name the service in the subject: [service-slug] what is wrong")
    slug, summary = found.group(1).lower(), found.group(2)
    service = Service.objects.filter(slug=slug).first()
    if service is None:
        raise Refused(f"550 5.1.0 No service '{_reply_text(slug, 120)}'; the subject must start with [service-slug]")
    try:
        report_outage(service, summary, actor=reporter(person), details=mail.body_text(message)[:mail.MAX_DETAILS],
                      severity="error", via="email", now=now)
    except ValidationError as exc:
        problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
        raise Refused(f"550 5.6.0 {_reply_text(problems)}") from None


def _to_mailboxes(message, recipients):
    """Hand the message to the mailboxes other apps registered (core.mailboxes); their refusal
    refuses the whole message, like any other recipient's."""
    answer = None
    for address in recipients:
        reply = mailboxes.handler_for(mailbox_of(address))(address, message)
        if reply and not reply.startswith("2"):
            raise Refused(reply)
        answer = reply or answer
    return answer


def deliver(content, envelope_from, integrations, report, now=None, registered=()):
    """Store what one message means for each of its recipients; returns the SMTP reply."""
    now = now or timezone.now()
    try:
        message = mail.parse_message(content)
    except Exception:
        return UNREADABLE
    if mail.is_auto_reply(message):
        return IGNORED
    try:
        events = [routing.bind([mail.event_from_message(message, info.options, envelope_from)], info)[0]
                  for info in integrations]
    except Exception:  # a message this malformed will not read better when sent again
        log.exception("reading an inbound e-mail failed")
        return UNREADABLE
    try:
        with transaction.atomic():
            if events:
                store_events(events, now)
            if report:
                _report(message, envelope_from, now)
            answer = _to_mailboxes(message, registered)
    except Refused as refused:
        return refused.reply
    except Exception:
        log.exception("storing an inbound e-mail failed")
        return NOT_STORED
    return answer or ACCEPTED


class InboundMail:
    """The aiosmtpd handler. Database work runs on a small thread pool, off the event loop."""

    async def handle_exception(self, error):
        # A temporary failure (the sender keeps the mail and retries), naming nothing internal.
        log.error("inbound mail failed", extra={"error": type(error).__name__})
        return "451 4.3.0 Temporary failure; try again later"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        ip = peer_ip(session)
        if limits.failed_keys.blocked(ip, limits.FAILED_KEYS_PER_MINUTE):
            return TOO_MANY_UNKNOWN
        mailbox = mailbox_of(address)
        if mailbox == REPORT_MAILBOX:
            envelope.report = True
        elif mailboxes.handler_for(mailbox) is not None:  # e.g. replies to notifications (ack+<token>@)
            envelope.registered = [*getattr(envelope, "registered", ()), address]
        else:
            info = await _in_thread(lookup.find, mailbox)
            if info is None or info.kind != Integration.EMAIL:
                limits.failed_keys.take(ip, limits.FAILED_KEYS_PER_MINUTE)
                return UNKNOWN_MAILBOX
            found = getattr(envelope, "integrations", None)
            if found is None:
                found = envelope.integrations = {}
            found[info.id] = info
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        integrations = list(getattr(envelope, "integrations", {}).values())
        for info in integrations:
            per_minute = (info.options.get("rate_limit_per_minute") if isinstance(info.options, dict) else None)
            if limits.per_key.take(info.key_hash, per_minute or limits.DEFAULT_EVENTS_PER_MINUTE, 1):
                # A temporary refusal: the sending server keeps the mail and tries again.
                return "451 4.7.1 This mailbox accepts no more alerts right now; try again later"
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        reply = await _in_thread(deliver, content, envelope.mail_from or "", integrations,
                                 getattr(envelope, "report", False), None, getattr(envelope, "registered", ()))
        if reply == UNKNOWN_SENDER:
            # Otherwise the report address would tell anyone which addresses the directory holds.
            limits.failed_keys.take(peer_ip(session), limits.FAILED_KEYS_PER_MINUTE)
        return reply


def server_name():
    return urlsplit(settings.BASE_URL).hostname or "localhost"


def protocol(handler, loop=None):
    """One SMTP session. The size limit makes aiosmtpd refuse larger mail with 552."""
    return SMTP(handler, data_size_limit=mail.MAX_MESSAGE, enable_SMTPUTF8=True, decode_data=False,
                hostname=server_name(), ident="Tocsin", timeout=60, loop=loop)


def quiet_protocol_log():
    # aiosmtpd logs every command line at INFO, with the addresses in it: personal data.
    logging.getLogger("mail.log").setLevel(logging.WARNING)


class SmtpPart:
    """The SMTP listener as a part supervised by `tocsin serve` (see tocsin.supervisor)."""

    name = "smtp"

    def __init__(self, host=None, port=None):
        self.host = host or os.environ.get("TOCSIN_SMTP_HOST") or "127.0.0.1"
        self.port = int(port if port is not None else os.environ.get("TOCSIN_SMTP_PORT") or DEFAULT_PORT)

    async def run(self, stop: asyncio.Event):
        quiet_protocol_log()
        loop = asyncio.get_running_loop()
        handler = InboundMail()
        while True:
            try:
                server = await loop.create_server(lambda: protocol(handler, loop), self.host, self.port)
                break
            except OSError as exc:
                # Typically the port is taken. HTTP ingestion goes on meanwhile; say so and retry.
                log.warning("SMTP listener cannot listen on %s:%s (%s); retrying in %s s",
                            self.host, self.port, exc.strerror or exc, BIND_RETRY_SECONDS)
                try:
                    await asyncio.wait_for(stop.wait(), BIND_RETRY_SECONDS)
                    return
                except TimeoutError:
                    continue
        log.info("SMTP listener started on %s:%s", self.host, self.port)
        try:
            await stop.wait()
        finally:
            server.close()
            await server.wait_closed()
