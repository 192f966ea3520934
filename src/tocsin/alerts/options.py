"""Checking an integration's options when they are written: only names its kind knows, every
value in range, mappings and patterns compiled, so that the ingestion path can trust them."""

import re

from django.core.exceptions import ValidationError

from .events import ACTIONS, SEVERITIES
from .formats.webhook import FIELDS as MAPPED_FIELDS, compile_expression

MAX_RATE = 100_000_000
MAX_TABLE = 200  # entries of a severity or status translation table
MAX_WORD = 255
MAX_PATTERN = 500
MAX_CATEGORY = 64
MIN_INTERVAL, MAX_INTERVAL = 30, 7 * 24 * 3600
MAX_GRACE = 24 * 3600
EMAIL_RULES = ("severity_pattern", "dedup_pattern", "resolve_pattern")
TRUE_WORDS, FALSE_WORDS = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


class Problems:
    """Errors keyed `options.<name>`, all reported at once."""

    def __init__(self):
        self.errors = {}

    def add(self, name, message):
        self.errors.setdefault(f"options.{name}", message)


def _whole(value, name, low, high, problems):
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.add(name, f"Must be a whole number from {low:,} to {high:,}.")
        return None
    return value


def _flag(value, name, problems):
    if isinstance(value, bool):
        return value
    word = value.strip().lower() if isinstance(value, str) else None
    if word in TRUE_WORDS or word in FALSE_WORDS:
        return word in TRUE_WORDS
    problems.add(name, "Must be true or false.")
    return None


def _severity(value, name, problems):
    word = value.strip().lower() if isinstance(value, str) else None
    if word not in SEVERITIES:
        problems.add(name, f"Must be one of {', '.join(SEVERITIES)}.")
        return None
    return word


def _category(value, name, problems):
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_CATEGORY:
        problems.add(name, f"Must be a name of 1 to {MAX_CATEGORY} characters, e.g. malware or phishing.")
        return None
    return value.strip()


def _mapping(value, name, problems):
    if not isinstance(value, dict):
        problems.add(name, "Must be an object from field names to JMESPath expressions or dotted paths.")
        return None
    kept = {}
    for field, expression in value.items():
        if field not in MAPPED_FIELDS:
            problems.add(f"{name}.{field}", f"Unknown field; map any of {', '.join(MAPPED_FIELDS)}.")
            continue
        if expression is None and field != "summary":
            kept[field] = None  # not read at all, not even under its own name
            continue
        try:
            compile_expression(expression)
        except ValueError as exc:
            problems.add(f"{name}.{field}", f"The expression {exc}.")
            continue
        kept[field] = expression.strip()
    return kept


def _table(choices, normal=None):
    """A translation table from the sender's words (any case) to one of `choices`."""
    def check(value, name, problems):
        if not isinstance(value, dict) or len(value) > MAX_TABLE:
            problems.add(name, f"Must be an object of at most {MAX_TABLE} entries, from a word to one of "
                               f"{', '.join(choices)}.")
            return None
        kept = {}
        for word, meaning in value.items():
            target = meaning.strip().lower() if isinstance(meaning, str) else None
            target = (normal or {}).get(target, target)
            if not isinstance(word, str) or not word.strip() or len(word) > MAX_WORD:
                problems.add(name, f"Words must be 1 to {MAX_WORD} characters.")
            elif target not in choices:
                problems.add(name, f"'{word[:60]}' must map to one of {', '.join(choices)}, not {str(meaning)[:60]!r}.")
            else:
                kept[word.strip().lower()] = target
        return kept
    return check


def _rules(value, name, problems):
    if not isinstance(value, dict):
        problems.add(name, f"Must be an object with any of {', '.join(EMAIL_RULES)}.")
        return None
    kept = {}
    for rule, pattern in value.items():
        if rule not in EMAIL_RULES:
            problems.add(f"{name}.{rule}", f"Unknown rule; use any of {', '.join(EMAIL_RULES)}.")
        elif not isinstance(pattern, str) or not pattern or len(pattern) > MAX_PATTERN:
            problems.add(f"{name}.{rule}", f"Must be a regular expression of 1 to {MAX_PATTERN} characters.")
        else:
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.add(f"{name}.{rule}", f"Not a valid regular expression: {exc}.")
            else:
                kept[rule] = pattern
    return kept


COMMON = {
    "default_severity": _severity,
    "rate_limit_per_minute": lambda value, name, problems: _whole(value, name, 1, MAX_RATE, problems),
    "security": _flag,
    "security_category": _category,
}
BY_KIND = {
    "events-v2": {},
    "alertmanager": {},
    "grafana": {},
    "webhook": {
        "mapping": _mapping,
        "severity_map": _table(SEVERITIES),
        "status_map": _table(ACTIONS, {"triggered": "trigger", "acknowledged": "acknowledge", "resolved": "resolve"}),
    },
    "email": {"rules": _rules},
    "heartbeat": {
        "interval_seconds": lambda value, name, problems: _whole(value, name, MIN_INTERVAL, MAX_INTERVAL, problems),
        "grace_seconds": lambda value, name, problems: _whole(value, name, 0, MAX_GRACE, problems),
    },
}


def check_options(kind, options):
    """The options of an integration of `kind`, checked and normalised; ValidationError names
    every bad one as `options.<name>`."""
    if kind not in BY_KIND:
        raise ValidationError({"kind": f"Unknown integration kind '{kind}'."})
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ValidationError({"options": "Must be an object of option names and values."})
    checks = {**COMMON, **BY_KIND[kind]}
    problems, kept = Problems(), {}
    for name, value in options.items():
        check = checks.get(name)
        if check is None:
            problems.add(name, f"Unknown option for {kind} integrations; known: {', '.join(sorted(checks))}.")
            continue
        normal = check(value, name, problems)
        if normal is not None:
            kept[name] = normal
    if problems.errors:
        raise ValidationError(problems.errors)
    return kept
