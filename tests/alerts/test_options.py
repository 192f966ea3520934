"""Checking and normalising integration options per kind (E1, E7)."""

import pytest
from django.core.exceptions import ValidationError

from tocsin.alerts.options import check_options


def problems(kind, options):
    with pytest.raises(ValidationError) as caught:
        check_options(kind, options)
    return caught.value.message_dict


def test_no_options_are_no_options():
    assert check_options("events-v2", None) == {} and check_options("grafana", {}) == {}


def test_common_options_are_normalised():
    assert check_options("alertmanager", {
        "default_severity": " Warning ", "rate_limit_per_minute": "600", "security": "yes",
        "security_category": " intrusion ",
    }) == {"default_severity": "warning", "rate_limit_per_minute": 600, "security": True,
           "security_category": "intrusion"}


@pytest.mark.parametrize("name, value, message", [
    ("default_severity", "fatal", "Must be one of critical, error, warning, info."),
    ("default_severity", 3, "Must be one of critical, error, warning, info."),
    ("rate_limit_per_minute", 0, "Must be a whole number from 1 to 100,000,000."),
    ("rate_limit_per_minute", 100_000_001, "Must be a whole number from 1 to 100,000,000."),
    ("rate_limit_per_minute", 2.5, "Must be a whole number from 1 to 100,000,000."),
    ("rate_limit_per_minute", True, "Must be a whole number from 1 to 100,000,000."),
    ("security", "maybe", "Must be true or false."),
    ("security_category", "", "Must be a name of 1 to 64 characters, e.g. malware or phishing."),
    ("security_category", "x" * 65, "Must be a name of 1 to 64 characters, e.g. malware or phishing."),
])
def test_bad_common_options_are_named(name, value, message):
    assert problems("events-v2", {name: value}) == {f"options.{name}": [message]}


def test_rate_limit_bounds_are_inclusive():
    assert check_options("webhook", {"rate_limit_per_minute": 1})["rate_limit_per_minute"] == 1
    assert check_options("webhook", {"rate_limit_per_minute": 1_000_000})["rate_limit_per_minute"] == 1_000_000


def test_unknown_options_and_options_of_other_kinds_are_refused_by_name():
    errors = problems("alertmanager", {"mapping": {"summary": "title"}, "colour": "red", "security": False})
    assert set(errors) == {"options.mapping", "options.colour"}
    assert errors["options.colour"][0].startswith("Unknown option for alertmanager integrations; known: ")


def test_every_problem_is_reported_at_once():
    errors = problems("heartbeat", {"interval_seconds": 5, "grace_seconds": -1, "default_severity": "loud"})
    assert set(errors) == {"options.interval_seconds", "options.grace_seconds", "options.default_severity"}


@pytest.mark.parametrize("options", ["x", ["security"]])
def test_options_must_be_an_object_of_names(options):
    assert problems("webhook", options) == {"options": ["Must be an object of option names and values."]}


def test_an_unknown_kind_is_refused():
    assert "kind" in problems("carrier-pigeon", {})


def test_webhook_mappings_are_compiled_and_kept():
    options = check_options("webhook", {
        "mapping": {"summary": " alert.title ", "source": "alert.host-name", "severity": "max_by(checks, &level).level",
                    "status": None, "events": "items[?enabled]"},
        "severity_map": {"RED": "Critical", "amber": "warning"},
        "status_map": {"Green": "resolved", "red": "trigger"},
    })
    assert options == {
        "mapping": {"summary": "alert.title", "source": "alert.host-name",
                    "severity": "max_by(checks, &level).level", "status": None, "events": "items[?enabled]"},
        "severity_map": {"red": "critical", "amber": "warning"},
        "status_map": {"green": "resolve", "red": "trigger"},
    }


@pytest.mark.parametrize("mapping, name, message", [
    ({"summary": "alert.[title"}, "options.mapping.summary", "The expression is neither a dotted path nor valid JMESPath"),
    ({"summary": "a b"}, "options.mapping.summary", "The expression is neither a dotted path nor valid JMESPath"),
    ({"summary": ""}, "options.mapping.summary", "The expression must be a non-empty string."),
    ({"summary": None}, "options.mapping.summary", "The expression must be a non-empty string."),
    ({"source": 5}, "options.mapping.source", "The expression must be a non-empty string."),
    ({"summary": "a." * 300}, "options.mapping.summary", "The expression must be at most 512 characters."),
    ({"title": "title"}, "options.mapping.title", "Unknown field; map any of summary, source, severity"),
])
def test_bad_mappings_name_the_field(mapping, name, message):
    errors = problems("webhook", {"mapping": mapping})
    assert list(errors) == [name] and errors[name][0].startswith(message)


@pytest.mark.parametrize("name, table, message", [
    ("severity_map", {"red": "purple"}, "'red' must map to one of critical, error, warning, info, not 'purple'."),
    ("severity_map", ["red"], "Must be an object of at most 200 entries"),
    ("severity_map", {f"w{n}": "info" for n in range(201)}, "Must be an object of at most 200 entries"),
    ("status_map", {"ok": "close"}, "'ok' must map to one of trigger, acknowledge, resolve, not 'close'."),
    ("status_map", {" ": "resolve"}, "Words must be 1 to 255 characters."),
])
def test_bad_translation_tables_are_named(name, table, message):
    errors = problems("webhook", {name: table})
    assert list(errors) == [f"options.{name}"] and errors[f"options.{name}"][0].startswith(message)


def test_email_rules_are_compiled():
    rules = {"severity_pattern": r"(?i)severity:\s*(\w+)", "dedup_pattern": r"Ticket #(\d+)",
             "resolve_pattern": r"^(RESOLVED|OK):"}
    assert check_options("email", {"rules": rules}) == {"rules": rules}


@pytest.mark.parametrize("rules, name, message", [
    ({"severity_pattern": "(unclosed"}, "options.rules.severity_pattern", "Not a valid regular expression"),
    ({"dedup_pattern": "x" * 501}, "options.rules.dedup_pattern", "Must be a regular expression of 1 to 500"),
    ({"resolve_pattern": 7}, "options.rules.resolve_pattern", "Must be a regular expression of 1 to 500"),
    ({"subject_pattern": "x"}, "options.rules.subject_pattern", "Unknown rule; use any of severity_pattern"),
    ("RESOLVED", "options.rules", "Must be an object with any of severity_pattern"),
])
def test_bad_email_rules_are_named(rules, name, message):
    errors = problems("email", {"rules": rules})
    assert list(errors) == [name] and errors[name][0].startswith(message)


@pytest.mark.parametrize("options, normal", [
    ({"interval_seconds": 30, "grace_seconds": 0}, {"interval_seconds": 30, "grace_seconds": 0}),
    ({"interval_seconds": 604_800, "grace_seconds": 86_400}, {"interval_seconds": 604_800, "grace_seconds": 86_400}),
    ({"interval_seconds": "300"}, {"interval_seconds": 300}),
])
def test_heartbeat_timing_within_bounds_is_kept(options, normal):
    assert check_options("heartbeat", options) == normal


@pytest.mark.parametrize("name, value, message", [
    ("interval_seconds", 29, "Must be a whole number from 30 to 604,800."),
    ("interval_seconds", 604_801, "Must be a whole number from 30 to 604,800."),
    ("grace_seconds", 86_401, "Must be a whole number from 0 to 86,400."),
    ("grace_seconds", "-5", "Must be a whole number from 0 to 86,400."),
])
def test_heartbeat_timing_out_of_bounds_is_named(name, value, message):
    assert problems("heartbeat", {name: value}) == {f"options.{name}": [message]}
