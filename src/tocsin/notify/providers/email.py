"""E-mail through an SMTP relay with aiosmtplib (F1): one multipart/alternative message per send.

Connections are kept open and reused between sends (per relay and event loop, a few at most, for
IDLE_SECONDS): a fan-out then costs one SMTP transaction per message, not a connection, EHLO,
STARTTLS and login each. A kept connection the server has closed meanwhile is replaced once."""

import asyncio
import re
import time
from email.headerregistry import Address
from email.utils import make_msgid, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import httpx

from . import mime
from .base import DELIVERED, FAILED, Config, Message, Outcome, Provider, register
from .safety import without_contacts

SECURITIES = ("none", "starttls", "tls")
# The scheme of TOCSIN_SMTP_URL says how the connection is secured, and the usual port for it.
SCHEMES = {"smtp": ("none", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}
DEFAULT_TIMEOUT = 10.0
MAX_CONNECTIONS = 8  # open at once per relay and event loop; more sends wait for one of them
IDLE_SECONDS = 30.0  # a kept connection unused this long is closed rather than reused
_idle = {}  # (event loop, relay) -> [(connection, time it was put back)]
_slots = {}  # (event loop, relay) -> asyncio.Semaphore(MAX_CONNECTIONS)
_KEY_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def from_url(url, *, name="smtp"):
    """The `Config` that `TOCSIN_SMTP_URL` describes, e.g.
    `smtp+starttls://user:pass@mail.example.org:587?from=alerts@example.org`."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"TOCSIN_SMTP_URL: {exc}") from None
    if parts.scheme not in SCHEMES:
        raise ValueError(f"TOCSIN_SMTP_URL: unknown scheme '{parts.scheme}' (use {', '.join(SCHEMES)})")
    if not parts.hostname:
        raise ValueError("TOCSIN_SMTP_URL: the host is missing")
    security, default_port = SCHEMES[parts.scheme]
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"from", "timeout"})
    if unknown:
        raise ValueError(f"TOCSIN_SMTP_URL: unknown parameter '{unknown[0]}' (use from, timeout)")
    sender = query.get("from", [""])[-1]
    if not sender:
        raise ValueError("TOCSIN_SMTP_URL: the sender is missing (add ?from=alerts@example.org)")
    try:
        Address(addr_spec=sender)
    except (ValueError, IndexError):
        raise ValueError("TOCSIN_SMTP_URL: 'from' is not an e-mail address") from None
    if "@" not in sender:
        raise ValueError("TOCSIN_SMTP_URL: 'from' is not an e-mail address")
    settings = {"host": parts.hostname, "port": port or default_port, "from_address": sender, "security": security}
    if "timeout" in query:
        try:
            settings["timeout"] = float(query["timeout"][-1])
        except ValueError:
            raise ValueError("TOCSIN_SMTP_URL: 'timeout' is not a number of seconds") from None
    secrets = {}
    if parts.username:
        secrets = {"username": unquote(parts.username), "password": unquote(parts.password or "")}
    return Config(name=name, kind="smtp", settings=settings, secrets=secrets)


def message_id(key, sender):
    """The same key gives the same Message-ID, so a re-send after a crash is recognisably the
    same message (and dropped by receivers that deduplicate on it)."""
    domain = sender.rpartition("@")[2] or "tocsin.invalid"
    if not key:
        return make_msgid(domain=domain)
    return f"<{_KEY_SAFE.sub('-', key)}@{domain}>"


def ascii_address(address):
    """`address` as a relay without SMTPUTF8 takes it: the domain in its IDNA form; a local part
    that is not ASCII raises UnicodeError."""
    local, _, domain = address.strip().rpartition("@")
    local.encode("ascii")
    return f"{local}@{domain.encode('idna').decode('ascii')}"


def _failure(exc):
    """aiosmtplib's exceptions as an Outcome: a 4xx answer or a lost connection is worth a retry,
    a 5xx answer is not."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients] or [550]
        transient = all(400 <= code < 500 for code in codes)
        return Outcome(FAILED, error=f"SMTP {codes[0]}: recipient refused", transient=transient)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return Outcome(FAILED, error=f"SMTP {exc.code}: authentication failed", transient=False)
    if isinstance(exc, (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError,
                        aiosmtplib.SMTPServerDisconnected)):
        return Outcome(FAILED, error=f"SMTP connection failed: {type(exc).__name__}", transient=True)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return Outcome(FAILED, error=without_contacts(f"SMTP {exc.code}: {exc.message[:200]}"),
                       transient=400 <= exc.code < 500)
    if isinstance(exc, (OSError, asyncio.TimeoutError, aiosmtplib.SMTPException)):
        return Outcome(FAILED, error=f"SMTP connection failed: {type(exc).__name__}", transient=True)
    raise exc


@register
class Smtp(Provider):
    kind = "smtp"
    channels = ("email",)

    def _problem(self):
        settings = self.config.settings
        if not settings.get("host"):
            return "settings.host is missing"
        if not settings.get("from_address"):
            return "settings.from_address is missing"
        if settings.get("security", "none") not in SECURITIES:
            return f"settings.security must be one of {', '.join(SECURITIES)}"
        return ""

    def _client(self):
        settings, secrets = self.config.settings, self.config.secrets
        security = settings.get("security", "none")
        default_port = {"none": 25, "starttls": 587, "tls": 465}[security]
        return aiosmtplib.SMTP(
            hostname=settings["host"], port=int(settings.get("port") or default_port),
            username=secrets.get("username") or None, password=secrets.get("password") or None,
            timeout=float(settings.get("timeout") or DEFAULT_TIMEOUT),
            use_tls=security == "tls",
            # "none" means none: without this aiosmtplib upgrades whenever the server offers it.
            start_tls=security == "starttls",
            validate_certs=settings.get("verify_certificates", True),
            cert_bundle=settings.get("ca_file") or None,
        )

    def compose(self, message: Message, to, message_id) -> bytes:
        """The message as it goes over the wire (see mime)."""
        # Tells vacation responders not to answer, and our own listener to ignore a loop.
        extra = [("Auto-Submitted", "auto-generated")]
        if message.data.get("reply_to"):  # a reply to it acknowledges (mail_replies)
            extra.append(("Reply-To", message.data["reply_to"]))
        return mime.page(sender=self.config.settings["from_address"], to=to, subject=message.subject,
                         text=message.text, html=message.html, message_id=message_id, extra=extra)

    async def send(self, message: Message, client: httpx.AsyncClient) -> Outcome:
        problem = self._problem()
        if problem:
            return Outcome(FAILED, error=problem)
        if "@" not in message.to:
            return Outcome(FAILED, error="the destination is not an e-mail address")
        try:
            to = ascii_address(message.to)
        except UnicodeError:
            return Outcome(FAILED, error="the address has characters before the @ that relays without SMTPUTF8 "
                                         "refuse, or a domain that cannot be written in ASCII")
        sender = parseaddr(self.config.settings["from_address"])[1]
        identity = message_id(message.key, sender)
        try:
            mail = self.compose(message, to, identity)
        except (ValueError, IndexError) as exc:
            return Outcome(FAILED, error=f"the message cannot be built: {exc}")
        relay = (asyncio.get_running_loop(), self._relay())
        async with _slots.setdefault(relay, asyncio.Semaphore(MAX_CONNECTIONS)):
            failed = await self._send_on(relay, (sender, [to], mail))
        return failed or Outcome(DELIVERED, provider_message_id=identity)

    async def _send_on(self, relay, envelope):
        """None once the relay has taken the message, else the failure's Outcome."""
        smtp = _take(relay)
        try:
            if smtp is not None:
                try:
                    await smtp.sendmail(*envelope)
                except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
                    _close(smtp)  # kept too long on the server's side: once more, on a new connection
                    smtp = None
            if smtp is None:
                smtp = self._client()
                await smtp.connect()  # EHLO, STARTTLS and login as configured
                await smtp.sendmail(*envelope)
        except Exception as exc:  # mapped by type; anything unknown is re-raised by _failure
            if smtp is not None:
                _close(smtp)
            return _failure(exc)
        _put_back(relay, smtp)  # sendmail raises unless the server answered 250 to the data
        return None

    def _relay(self):
        settings, secrets = self.config.settings, self.config.secrets
        return (settings.get("host"), settings.get("port"), settings.get("security", "none"), secrets.get("username"),
                secrets.get("password"), settings.get("verify_certificates", True), settings.get("ca_file"))

    async def check(self, client: httpx.AsyncClient) -> str:
        problem = self._problem()
        if problem:
            return problem
        smtp = self._client()
        try:
            async with smtp:  # connects, says EHLO, secures and logs in as configured
                code, text = await smtp.noop()
        except Exception as exc:
            return _failure(exc).error
        return "" if code == 250 else f"SMTP {code}: NOOP refused"


def _take(relay):
    """A kept connection to `relay` on this event loop, or None."""
    now = time.monotonic()
    kept = _idle.get(relay, [])
    while kept:
        smtp, since = kept.pop()
        if now - since < IDLE_SECONDS and smtp.is_connected:
            return smtp
        _close(smtp)
    for gone in [key for key in _idle if key[0].is_closed()]:
        _idle.pop(gone, None)  # connections of event loops that are gone
        _slots.pop(gone, None)
    return None


def _put_back(relay, smtp):
    kept = _idle.setdefault(relay, [])
    if len(kept) < MAX_CONNECTIONS and smtp.is_connected:
        kept.append((smtp, time.monotonic()))
    else:
        _close(smtp)


def _close(smtp):
    try:
        smtp.close()
    except Exception:  # noqa: BLE001 - closing a broken connection may fail in any way; it is gone either way
        pass
