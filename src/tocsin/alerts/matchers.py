"""Alertmanager-style label matchers: checking them, reading their text form, matching alerts.

A matcher is {"label", "op", "value"} with op `=`, `!=`, `=~` or `!~`. Regular expressions are
anchored at both ends, as in Alertmanager (`db` does not match `db-1`; write `db.*`). A label the
alert lacks has the empty value, so `team=""` matches alerts without a team and `team!=""` those
with one."""

import re
from functools import lru_cache

from django.core.exceptions import ValidationError

EQUAL, NOT_EQUAL, REGEX, NOT_REGEX = "=", "!=", "=~", "!~"
OPS = (EQUAL, NOT_EQUAL, REGEX, NOT_REGEX)
MAX_MATCHERS = 30
MAX_VALUE = 1000
# Prometheus label names, widened by `.`, `-` and `/` for Kubernetes-style names (app.kubernetes.io/name).
LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]{0,99}")
# What matching sees besides an alert's own labels; an alert's label of the same name wins.
FIELD_LABELS = {"severity": "severity", "source": "source", "component": "component", "group": "group",
                "class": "alert_class"}
SERVICE_LABEL = "service"


@lru_cache(maxsize=2048)
def compiled(pattern):
    """The anchored form of a matcher's regular expression (fullmatch: `$` alone would accept a
    trailing newline)."""
    return re.compile(f"(?:{pattern})")


def _text(value):
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def alert_labels(alert):
    """What matchers compare, for an Alert or a not yet stored Event: its labels, plus severity,
    source, component, group, class and service (the slug) where the labels lack them."""
    own = alert.labels if isinstance(alert.labels, dict) else {}
    labels = {str(name): _text(value) for name, value in own.items()}
    for name, attribute in FIELD_LABELS.items():
        if name not in labels:
            labels[name] = _text(getattr(alert, attribute, ""))
    if SERVICE_LABEL not in labels:
        service = getattr(alert, "service", None)  # an Event has none until it is stored
        labels[SERVICE_LABEL] = service.slug if service is not None else ""
    return labels


def matches_one(matcher, labels):
    value = labels.get(matcher["label"], "")
    op = matcher["op"]
    if op == EQUAL:
        return value == matcher["value"]
    if op == NOT_EQUAL:
        return value != matcher["value"]
    found = compiled(matcher["value"]).fullmatch(value) is not None
    return found if op == REGEX else not found


def matches(matchers, labels):
    """True when every matcher agrees with `labels` (a dict of strings); no matchers match all."""
    return all(matches_one(matcher, labels) for matcher in matchers)


def _quote(value):
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def describe(matcher):
    """The text form, e.g. severity=~"critical|error"."""
    return f"{matcher['label']}{matcher['op']}{_quote(matcher['value'])}"


def describe_all(matchers):
    return "{" + ", ".join(describe(m) for m in matchers) + "}"


def _problem(matcher):
    """What is wrong with one matcher in dict form, or None."""
    if not isinstance(matcher, dict):
        return "must be an object with label, op and value"
    unknown = set(matcher) - {"label", "op", "value"}
    if unknown:
        return f"has unknown field '{sorted(unknown)[0]}'"
    label, op, value = matcher.get("label"), matcher.get("op"), matcher.get("value")
    if not isinstance(label, str) or not LABEL_NAME.fullmatch(label):
        return "needs a label name of letters, digits and _ . - / (not starting with a digit), up to 100 characters"
    if op not in OPS:
        return f"needs an op among {', '.join(OPS)}"
    if not isinstance(value, str):
        return "needs a string value"
    if len(value) > MAX_VALUE:
        return f"has a value longer than {MAX_VALUE} characters"
    if op in (REGEX, NOT_REGEX):
        try:
            compiled(value)
        except re.error as exc:
            return f"has an invalid regular expression ({exc})"
    return None


def _shown(matcher):
    if isinstance(matcher, dict) and all(isinstance(matcher.get(k), str) for k in ("label", "op", "value")):
        return describe(matcher)
    return repr(matcher)[:120]


def validate(matchers, field="matchers"):
    """Matchers in dict form, text form (one string), or a list mixing dicts and strings; returns
    them as a list of dicts. Raises ValidationError({field: …}) naming the first bad matcher."""
    if matchers is None:
        return []
    if isinstance(matchers, str):
        return parse(matchers, field=field)
    if not isinstance(matchers, (list, tuple)):
        raise ValidationError({field: "Give a list of matchers such as [{\"label\": \"team\", \"op\": \"=\", "
                                      "\"value\": \"db\"}] or their text form team=\"db\"."})
    if len(matchers) > MAX_MATCHERS:
        raise ValidationError({field: f"At most {MAX_MATCHERS} matchers."})
    cleaned = []
    for position, matcher in enumerate(matchers, start=1):
        if isinstance(matcher, str):
            parsed = parse(matcher, field=field)
            if len(parsed) != 1:
                raise ValidationError({field: f"Matcher {position} ({matcher[:120]}) must be exactly one matcher."})
            matcher = parsed[0]
        problem = _problem(matcher)
        if problem:
            raise ValidationError({field: f"Matcher {position} ({_shown(matcher)}) {problem}."})
        cleaned.append({"label": matcher["label"], "op": matcher["op"], "value": matcher["value"]})
    return cleaned


class _Reader:
    """A small scanner over the text form: {name op value, …} or the same without braces."""

    def __init__(self, text):
        self.text, self.at = text, 0

    def space(self):
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def peek(self, token):
        self.space()
        return self.text.startswith(token, self.at)

    def take(self, token):
        if self.peek(token):
            self.at += len(token)
            return True
        return False

    def done(self):
        self.space()
        return self.at >= len(self.text)

    def quoted(self):
        """A double-quoted string; \\" \\\\ \\n \\t are escapes, any other backslash is kept so
        that regular expressions like "\\d+" read as written."""
        self.at += 1
        out = []
        while self.at < len(self.text):
            char = self.text[self.at]
            if char == '"':
                self.at += 1
                return "".join(out)
            if char == "\\" and self.at + 1 < len(self.text):
                following = self.text[self.at + 1]
                out.append({'"': '"', "\\": "\\", "n": "\n", "t": "\t"}.get(following, "\\" + following))
                self.at += 2
                continue
            out.append(char)
            self.at += 1
        raise ValueError("a quoted string is not closed")

    def name(self):
        self.space()
        if self.peek('"'):
            return self.quoted()
        found = LABEL_NAME.match(self.text, self.at)
        if not found:
            raise ValueError(f"expected a label name at position {self.at + 1}")
        self.at = found.end()
        return found.group()

    def op(self):
        for op in (REGEX, NOT_REGEX, NOT_EQUAL, EQUAL):  # two-character ops first
            if self.take(op):
                return op
        raise ValueError(f"expected one of {', '.join(OPS)} at position {self.at + 1}")

    def value(self):
        self.space()
        if self.peek('"'):
            return self.quoted()
        start = self.at
        while self.at < len(self.text) and self.text[self.at] not in ",{}\"":
            self.at += 1
        return self.text[start:self.at].strip()


def _read(text):
    reader = _Reader(text)
    braced = reader.take("{")
    matchers = []
    while not reader.done() and not reader.peek("}"):
        label = reader.name()
        op = reader.op()
        matchers.append({"label": label, "op": op, "value": reader.value()})
        if not reader.take(","):
            break
    if braced and not reader.take("}"):
        raise ValueError("the closing } is missing")
    if not reader.done():
        raise ValueError(f"unexpected text at position {reader.at + 1}")
    return matchers


def parse(text, field="matchers"):
    """The text form, e.g. `severity=~"critical|error", team="db"` (braces optional), as checked
    dicts. Raises ValidationError({field: …}) naming what could not be read."""
    if not isinstance(text, str):
        raise ValidationError({field: "Give matchers as text, e.g. team=\"db\"."})
    if len(text) > MAX_MATCHERS * (MAX_VALUE + 120):
        raise ValidationError({field: "The matchers are too long."})
    try:
        matchers = _read(text)
    except ValueError as exc:
        raise ValidationError({field: f"Cannot read the matchers {text[:120]!r}: {exc}."}) from None
    return validate(matchers, field=field)
