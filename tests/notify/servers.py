"""Real local servers that notification tests send to: an aiosmtpd SMTP sink, an HTTP server that
speaks Twilio's REST API (with signed status callbacks), and a generic webhook receiver.

Each runs in background threads on 127.0.0.1 and a free port; use them as context managers or
through the fixtures in tests/notify/conftest.py."""

import email
import email.policy
import json
import re
import secrets
import socket
import threading
import time
import xml.etree.ElementTree as ElementTree
from base64 import b64decode
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from twilio.request_validator import RequestValidator


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Waitable:
    """A list that tests can wait on from another thread."""

    def __init__(self):
        self._changed = threading.Condition()

    def _append(self, items, item):
        with self._changed:
            items.append(item)
            self._changed.notify_all()

    def _wait(self, items, n, timeout, what):
        with self._changed:
            if not self._changed.wait_for(lambda: len(items) >= n, timeout=timeout):
                raise AssertionError(f"expected {n} {what}, got {len(items)} within {timeout} s")
            return list(items)


# --- SMTP ----------------------------------------------------------------------------------------

def self_signed_certificate(directory):
    """A certificate for 127.0.0.1 and localhost, valid for a day: (cert path, key path). Clients
    trust it by taking the cert path as their CA bundle."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = f"{directory}/cert.pem", f"{directory}/key.pem"
    with open(cert_path, "wb") as out:
        out.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Envelope:
    mail_from: str
    rcpt_tos: list
    message: email.message.EmailMessage


class SmtpSink(_Waitable):
    """An aiosmtpd server collecting what it is sent as `email.message.EmailMessage` objects.

    `users={"name": "password"}` makes it require AUTH (PLAIN/LOGIN, allowed without TLS here);
    `fail_next(451, "Try later", stage="DATA")` answers the next RCPT or DATA with that reply."""

    def __init__(self, users=None, tls_context=None):
        super().__init__()
        self.users = dict(users or {})
        self.port = free_port()
        self.host = "127.0.0.1"
        self.messages = []
        self.envelopes = []
        self.logins = []
        self._failures = {"RCPT": [], "DATA": []}
        self._lock = threading.Lock()
        options = {}
        if self.users:
            options = {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": False}
        if tls_context is not None:  # offers STARTTLS and insists on it
            options.update(tls_context=tls_context, require_starttls=True)
        self.controller = Controller(self, hostname=self.host, port=self.port, **options)

    def fail_next(self, code, text="Requested action not taken", stage="DATA"):
        stage = stage.upper()
        if stage not in self._failures:
            raise ValueError("stage must be RCPT or DATA")
        with self._lock:
            self._failures[stage].append(f"{code} {text}")

    def wait_for(self, n, timeout=5.0):
        return self._wait(self.messages, n, timeout, "messages")

    def _failure(self, stage):
        with self._lock:
            return self._failures[stage].pop(0) if self._failures[stage] else None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        ok = self.users.get(login) == password
        if ok:
            self.logins.append(login)
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        failure = self._failure("RCPT")
        if failure:
            return failure
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        failure = self._failure("DATA")
        if failure:
            return failure
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.envelopes.append(Envelope(envelope.mail_from, list(envelope.rcpt_tos), message))
        self._append(self.messages, message)
        return "250 Message accepted for delivery"

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# --- HTTP ----------------------------------------------------------------------------------------

@dataclass
class Received:
    method: str
    path: str  # without the query
    query: dict
    headers: object  # http.client.HTTPMessage: case-insensitive .get()
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self):
        return json.loads(self.body)

    def form(self):
        """Form fields, one value each (the last)."""
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


class _HttpServer(_Waitable):
    def __init__(self):
        super().__init__()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                received = Received(self.command, parts.path, parse_qs(parts.query), self.headers, body)
                status, content, headers = server.answer(received)
                if isinstance(content, str):
                    content = content.encode()
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test); nothing to tell it any more

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def answer(self, received):
        raise NotImplementedError

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class WebhookReceiver(_HttpServer):
    """Records every request; answers 200 "ok" unless told otherwise with `respond_with`."""

    def __init__(self):
        super().__init__()
        self.requests = []
        self._responses = {}  # path (or None for any) -> (status, body, headers)
        self.respond_with(200, "ok")

    def respond_with(self, status, body="", *, path=None, content_type=None):
        """Answer requests (to `path`, or to any path) with this status and body from now on. A
        dict or list body is sent as JSON."""
        if isinstance(body, (dict, list)):
            body, content_type = json.dumps(body), content_type or "application/json"
        self._responses[path] = (status, body, {"Content-Type": content_type or "text/plain; charset=utf-8"})

    def wait_for(self, n, timeout=5.0):
        return self._wait(self.requests, n, timeout, "requests")

    def answer(self, received):
        self._append(self.requests, received)
        return self._responses.get(received.path) or self._responses[None]


# --- Twilio --------------------------------------------------------------------------------------

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_ACCOUNT = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-f]{32})(?P<rest>\.json|/Messages\.json|/Calls\.json)$")


class TwilioStub(_HttpServer):
    """Twilio's REST API for Messages, Calls and the account resource, on a local port.

    Each accepted message or call is recorded (`.messages`, `.calls`: the form fields plus `sid`,
    `idempotency_token`) and, when a StatusCallback was given, its scripted statuses are posted
    back from a background thread, signed with X-Twilio-Signature as Twilio does. A call first
    fetches its `Url` (the TwiML is kept in `call["twiml"]`) and, if `.press(to, digits)` was
    scripted, posts the digits to the TwiML's <Gather action>."""

    def __init__(self, callback_delay=0.05):
        super().__init__()
        self.account_sid = "AC" + secrets.token_hex(16)
        self.auth_token = secrets.token_hex(16)
        self.validator = RequestValidator(self.auth_token)
        self.callback_delay = callback_delay
        self.messages, self.calls, self.requests, self.callbacks = [], [], [], []
        self._scripts, self._presses, self._failures, self._hangs = {}, {}, [], []
        self._healthy = True
        self._health_status = 503
        self._lock = threading.Lock()
        self._workers = []

    # Scripting ---------------------------------------------------------------------------------
    def script(self, to, statuses):
        """The statuses reported, in order, for messages or calls to `to`; the default is
        queued, sent, delivered for a message and completed for a call."""
        self._scripts[to] = list(statuses)

    def press(self, to, digits):
        """The keys pressed on calls to `to`, after the TwiML is fetched."""
        self._presses[to] = digits

    def fail_next(self, status=503, code=None, message=None):
        defaults = {400: (21211, "The 'To' number is not a valid phone number."),
                    429: (20429, "Too Many Requests"), 503: (20503, "Service Unavailable")}
        default_code, default_message = defaults.get(status, (20500, "Internal Server Error"))
        self._failures.append((status, code or default_code, message or default_message))

    def hang_next(self, seconds):
        """The next Messages or Calls request is answered only after `seconds`."""
        self._hangs.append(seconds)

    def health(self, healthy, status=503):
        """Whether the account resource answers (the provider's health check reads it)."""
        self._healthy, self._health_status = healthy, status

    def wait_for(self, n, timeout=5.0, kind="messages"):
        return self._wait(getattr(self, kind), n, timeout, kind)

    def wait_for_callbacks(self, n, timeout=5.0):
        return self._wait(self.callbacks, n, timeout, "callbacks")

    def sign(self, url, params):
        return self.validator.compute_signature(url, params)

    def settle(self, timeout=5.0):
        """Wait until every scheduled TwiML fetch, keypress and callback has been posted."""
        for worker in list(self._workers):
            worker.join(timeout=timeout)

    def stop(self):
        super().stop()
        self.settle()

    # Serving -----------------------------------------------------------------------------------
    @staticmethod
    def _error(status, code, message):
        body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status}
        return status, json.dumps(body), {"Content-Type": "application/json"}

    def _authorised(self, received, sid):
        header = received.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == sid == self.account_sid and secrets.compare_digest(password, self.auth_token)

    def answer(self, received):
        self._append(self.requests, received)
        match = _ACCOUNT.match(received.path)
        if not match:
            return self._error(404, 20404, "The requested resource was not found")
        if not self._authorised(received, match["sid"]):
            return self._error(401, 20003, "Authenticate")
        rest = match["rest"]
        if rest == ".json":
            if received.method != "GET":
                return self._error(405, 20004, "Method not allowed")
            if not self._healthy:
                return self._error(self._health_status, 20500, "Account unavailable")
            return 200, json.dumps({"sid": self.account_sid, "status": "active", "type": "Full"}), {
                "Content-Type": "application/json"}
        if received.method != "POST":
            return self._error(405, 20004, "Method not allowed")
        if self._hangs:
            time.sleep(self._hangs.pop(0))
        form = received.form()
        form["idempotency_token"] = received.headers.get("I-Twilio-Idempotency-Token", "")
        if self._failures:
            return self._error(*self._failures.pop(0))
        return self._message(form) if rest == "/Messages.json" else self._call(form)

    def _message(self, form):
        if not form.get("To"):
            return self._error(400, 21604, "A 'To' phone number is required.")
        if not _E164.match(form["To"]):
            return self._error(400, 21211, f"The 'To' number {form['To']} is not a valid phone number.")
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return self._error(400, 21603, "A 'From' phone number is required.")
        if not form.get("Body"):
            return self._error(400, 21602, "Message body is required.")
        form["sid"] = "SM" + secrets.token_hex(16)
        self._append(self.messages, form)
        self._after(form, "MessageSid", "MessageStatus", ["queued", "sent", "delivered"])
        return 201, json.dumps(self._resource(form, "queued", body=form["Body"])), {"Content-Type": "application/json"}

    def _call(self, form):
        if not form.get("To"):
            return self._error(400, 21201, "No 'To' number is specified")
        if not _E164.match(form["To"]):
            return self._error(400, 21211, f"The 'To' number {form['To']} is not a valid phone number.")
        if not form.get("From"):
            return self._error(400, 21213, "No 'From' number is specified")
        if not (form.get("Url") or form.get("Twiml")):
            return self._error(400, 21205, "Url parameter is required.")
        form["sid"] = "CA" + secrets.token_hex(16)
        form["twiml"] = form.get("Twiml", "")
        self._append(self.calls, form)
        self._after(form, "CallSid", "CallStatus", ["completed"])
        return 201, json.dumps(self._resource(form, "queued")), {"Content-Type": "application/json"}

    def _resource(self, form, status, **extra):
        now = datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")
        kind = "Messages" if form["sid"].startswith("SM") else "Calls"
        return {"sid": form["sid"], "account_sid": self.account_sid, "to": form["To"], "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"), "status": status,
                "date_created": now, "date_updated": now, "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/{kind}/{form['sid']}.json", **extra}

    # Callbacks ---------------------------------------------------------------------------------
    def _after(self, form, sid_field, status_field, default):
        statuses = self._scripts.get(form["To"], default)
        worker = threading.Thread(target=self._report, args=(form, sid_field, status_field, statuses), daemon=True)
        self._workers.append(worker)
        worker.start()

    def _post_signed(self, url, params):
        headers = {"X-Twilio-Signature": self.sign(url, params), "User-Agent": "TwilioProxy/1.1"}
        try:
            response = httpx.post(url, data=params, headers=headers, timeout=5)
        except httpx.HTTPError as exc:
            self._append(self.callbacks, {"url": url, "params": params, "status": None, "error": repr(exc)})
            return None
        self._append(self.callbacks, {"url": url, "params": params, "status": response.status_code, "error": ""})
        return response

    def _report(self, form, sid_field, status_field, statuses):
        time.sleep(self.callback_delay)
        common = {sid_field: form["sid"], "AccountSid": self.account_sid, "To": form["To"],
                  "From": form.get("From", "")}
        if sid_field == "CallSid" and form.get("Url"):
            # Twilio fetches the call's TwiML when the callee answers.
            try:
                response = httpx.post(form["Url"], data={**common, "CallStatus": "in-progress",
                                                         "Direction": "outbound-api"},
                                      headers={"X-Twilio-Signature": self.sign(form["Url"], {
                                          **common, "CallStatus": "in-progress", "Direction": "outbound-api"})},
                                      timeout=5)
                form["twiml"] = response.text
            except httpx.HTTPError as exc:
                form["twiml_error"] = repr(exc)
            digits = self._presses.get(form["To"])
            action = self._gather_action(form.get("twiml", ""))
            if digits and action:
                form["gather_response"] = self._post_signed(action, {**common, "Digits": digits,
                                                                     "CallStatus": "in-progress"})
        url = form.get("StatusCallback")
        if not url:
            return
        for status in statuses:
            self._post_signed(url, {**common, status_field: status})

    @staticmethod
    def _gather_action(twiml):
        try:
            root = ElementTree.fromstring(twiml)
        except ElementTree.ParseError:
            return ""
        gather = root.find("Gather")
        return gather.get("action", "") if gather is not None else ""
