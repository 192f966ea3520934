"""What an inbound alert e-mail means: summary, details, source, severity, dedup key, resolve."""

import functools
import hashlib
import logging
import re
from email import policy
from email.parser import BytesParser
from email.utils import parseaddr
from html.parser import HTMLParser

from tocsin.incidents.services.lifecycle import MAX_DETAILS, MAX_TITLE

from .events import MAX_FIELD, RESOLVE, TRIGGER, Event, default_severity, severity_of, text

log = logging.getLogger("tocsin.alerts")
MAX_MESSAGE = 1024 * 1024
DEFAULT_RESOLVE = r"^\s*\[?RESOLVED\]?"
MAX_PATTERN = 1000
# Patterns are written by administrators and Python's re has no time limit, so they only ever
# see a bounded piece of the body.
RULE_TEXT_LIMIT = 16 * 1024
NO_SUBJECT = "(no subject)"


class _TextOfHtml(HTMLParser):
    """The readable text of an HTML-only message: tags dropped, scripts and styles skipped."""

    SKIPPED = {"script", "style", "head", "title"}
    BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skipping = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIPPED and self.skipping:
            self.skipping -= 1
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def text_of_html(html):
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def parse_message(content: bytes):
    return BytesParser(policy=policy.default).parsebytes(content)


def header(message, name):
    """A header as text; a header too broken to decode counts as absent."""
    try:
        value = message.get(name)
    except Exception:  # the email package raises assorted errors on malformed headers
        return ""
    # (NUL characters dropped: PostgreSQL stores none, and a mail refused for one would come back forever)
    return " ".join(str(value).replace("\x00", "").split()) if value is not None else ""


def is_auto_reply(message):
    """Out-of-office and other machine replies (RFC 3834 and the usual vendor headers)."""
    auto = header(message, "Auto-Submitted").split(";")[0].strip().lower()
    if auto and auto != "no":
        return True
    if "X-Autoreply" in message or "X-Autorespond" in message:
        return True
    return header(message, "Precedence").lower() == "auto_reply"


def body_text(message):
    """The text/plain body, or the text of the HTML body when there is no plain one."""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except Exception:
        part = None
    if part is None:
        return ""
    try:
        content = part.get_content()
    except Exception:  # unknown charset, broken transfer encoding: keep what can be read
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
    if not isinstance(content, str):
        return ""
    if part.get_content_type() == "text/html":
        content = text_of_html(content)
    return content.strip()


def sender(message, envelope_from=""):
    """The From address (what people see and reply to), else the envelope sender."""
    _, address = parseaddr(header(message, "From"))
    return (address or envelope_from or "").strip()


@functools.lru_cache(maxsize=256)
def _compile(pattern):
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return None


def rule(rules, name, default=None):
    """A compiled rule from the integration's options, read defensively: an option that is not a
    usable pattern is ignored (and logged), so a bad rule never refuses mail."""
    pattern = rules.get(name) if isinstance(rules, dict) else None
    if pattern in (None, ""):
        pattern = default
    if pattern is None:
        return None
    if not isinstance(pattern, str) or len(pattern) > MAX_PATTERN or _compile(pattern) is None:
        log.warning("ignoring an unusable e-mail rule", extra={"rule": name})
        pattern = default
    return _compile(pattern) if pattern is not None else None


def _capture(match, group):
    if group in match.re.groupindex:
        return match.group(group)
    return match.group(1) if match.re.groups else match.group(0)


def _first_match(pattern, *texts):
    for candidate in texts:
        match = pattern.search(candidate) if candidate else None
        if match is not None:
            return match
    return None


def subject_dedup_key(subject):
    """Stable for the RESOLVED answer of a mail: whitespace and case do not matter."""
    normal = " ".join(subject.split()).casefold()
    return "email:" + hashlib.sha256(normal.encode()).hexdigest()[:32]


def without_match(subject, match):
    rest = subject[:match.start()] + " " + subject[match.end():]
    return rest.strip().lstrip(":-\u2013\u2014 ").strip()




def event_from_message(message, options, envelope_from=""):
    """The event an alert e-mail stands for (its service and integration are bound by the caller)."""
    rules = options.get("rules") if isinstance(options, dict) else None
    subject = header(message, "Subject") or NO_SUBJECT
    body = body_text(message).replace("\x00", "")
    scanned = body[:RULE_TEXT_LIMIT]
    source = sender(message, envelope_from)

    action, topic = TRIGGER, subject
    resolved = rule(rules, "resolve_pattern", DEFAULT_RESOLVE)
    match = resolved.search(subject) if resolved is not None else None
    if match is not None and match.end() > match.start():
        action, topic = RESOLVE, without_match(subject, match) or subject

    dedup_key = ""
    dedup = rule(rules, "dedup_pattern")
    found = _first_match(dedup, subject, scanned) if dedup is not None else None
    if found is not None:
        dedup_key = (_capture(found, "key") or "").strip()[:MAX_FIELD]
    if not dedup_key:
        dedup_key = subject_dedup_key(topic)

    severity = default_severity(options)
    severities = rule(rules, "severity_pattern")
    found = _first_match(severities, subject, scanned) if severities is not None else None
    if found is not None:
        severity = severity_of(_capture(found, "severity"), severity)

    message_id = header(message, "Message-ID")[:MAX_FIELD]
    return Event(
        action=action, dedup_key=dedup_key, severity=severity, summary=text(subject, MAX_TITLE),
        source=text(source), details={"details": body[:MAX_DETAILS], "from": text(source), "message_id": message_id},
        raw={"subject": text(subject, MAX_TITLE), "from": text(source), "message_id": message_id,
             "date": header(message, "Date")[:MAX_FIELD]},
    )
