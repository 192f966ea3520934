"""Alertmanager-style matchers: matching, the text form, and checks that name the bad matcher."""

import re

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from tocsin.alerts.events import Event
from tocsin.alerts.matchers import alert_labels, describe, describe_all, matches, parse, validate


def m(label, op, value):
    return {"label": label, "op": op, "value": value}


@pytest.mark.parametrize("matcher, labels, expected", [
    (m("team", "=", "db"), {"team": "db"}, True),
    (m("team", "=", "db"), {"team": "dba"}, False),
    (m("team", "!=", "db"), {"team": "web"}, True),
    (m("team", "!=", "db"), {}, True),
    (m("team", "=", ""), {}, True),  # a missing label has the empty value
    (m("team", "!=", ""), {}, False),
    (m("team", "!=", ""), {"team": "x"}, True),
    (m("severity", "=~", "critical|error"), {"severity": "error"}, True),
    (m("severity", "=~", "critical|error"), {"severity": "warning"}, False),
    (m("instance", "=~", "db"), {"instance": "db-1"}, False),  # anchored: not a search
    (m("instance", "=~", "db-.*"), {"instance": "db-1"}, True),
    (m("instance", "=~", "db-1"), {"instance": "db-1\n"}, False),  # `$` alone would accept this
    (m("instance", "=~", "a|b"), {"instance": "ab"}, False),  # anchors wrap the alternation
    (m("instance", "!~", "db-.*"), {"instance": "web-1"}, True),
    (m("instance", "!~", "db-.*"), {"instance": "db-2"}, False),
    (m("instance", "!~", ".+"), {}, True),
])
def test_each_operator_matches_as_alertmanager_does(matcher, labels, expected):
    assert matches([matcher], labels) is expected


def test_every_matcher_must_agree_and_no_matchers_match_everything():
    both = [m("team", "=", "db"), m("severity", "=~", "critical|error")]
    assert matches(both, {"team": "db", "severity": "critical"})
    assert not matches(both, {"team": "db", "severity": "info"})
    assert matches([], {"anything": "at all"})


def test_the_text_form_reads_quotes_escapes_braces_and_bare_values():
    parsed = parse('{severity=~"critical|error", team = db, __name__!="say \\"hi\\"", job!~"api-\\d+",}')
    assert parsed == [m("severity", "=~", "critical|error"), m("team", "=", "db"), m("__name__", "!=", 'say "hi"'),
                      m("job", "!~", r"api-\d+")]
    assert parse('severity=~"critical|error"') == [m("severity", "=~", "critical|error")]
    assert parse("") == [] and parse("{}") == []
    assert parse('app.kubernetes.io/name="api"') == [m("app.kubernetes.io/name", "=", "api")]


@pytest.mark.parametrize("text, fragment", [
    ('team="db', "not closed"),
    ("team", "expected one of"),
    ('{team="db"', "closing }"),
    ('team="db" severity="x"', "unexpected text"),
    ('9team="db"', "label name"),
    ('job=~"api-("', "invalid regular expression"),
])
def test_unreadable_text_is_refused_naming_the_field_and_the_problem(text, fragment):
    with pytest.raises(ValidationError) as raised:
        parse(text, field="target_matchers")
    message = raised.value.message_dict["target_matchers"][0]
    assert fragment in message


def test_validation_names_the_bad_matcher_by_position_and_text():
    with pytest.raises(ValidationError) as raised:
        validate([m("team", "=", "db"), m("job", "=~", "api-(")], field="source_matchers")
    message = raised.value.message_dict["source_matchers"][0]
    assert message.startswith('Matcher 2 (job=~"api-(") has an invalid regular expression')
    for bad, fragment in [(m("team", "==", "db"), "op"), (m("", "=", "x"), "label name"),
                          (m("team", "=", 5), "string value"), ({"label": "team", "op": "=", "value": "db", "x": 1},
                                                                "unknown field 'x'"), ("nonsense", "Cannot read")]:
        with pytest.raises(ValidationError) as raised:
            validate([bad])
        assert fragment in raised.value.message_dict["matchers"][0]


def test_validation_accepts_dicts_strings_and_mixed_lists():
    assert validate('team="db"') == [m("team", "=", "db")]
    assert validate([m("team", "=", "db"), 'severity!="info"']) == [m("team", "=", "db"), m("severity", "!=", "info")]
    assert validate(None) == []
    with pytest.raises(ValidationError):
        validate({"team": "db"})


def test_alert_labels_add_the_alert_fields_unless_a_label_says_otherwise():
    event = Event(action="trigger", dedup_key="k", severity="warning", source="db-1", component="disk",
                  group="storage", alert_class="capacity", labels={"team": "db", "source": "from-label", "n": 3})
    labels = alert_labels(event)
    assert labels == {"team": "db", "source": "from-label", "n": "3", "severity": "warning", "component": "disk",
                      "group": "storage", "class": "capacity", "service": ""}


label_names = st.from_regex(re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,10}"), fullmatch=True)
values = st.text(max_size=20)
ops = st.sampled_from(["=", "!=", "=~", "!~"])
regex_safe = st.text(alphabet="abcxyz019-_ ", max_size=10)


@given(st.lists(st.builds(m, label_names, st.sampled_from(["=", "!="]), values), max_size=5))
def test_the_text_form_reads_back_what_it_writes(found):
    assert parse(describe_all(found)) == found
    for matcher in found:
        assert parse(describe(matcher)) == [matcher]


@given(label_names, regex_safe, st.text(max_size=20))
def test_a_literal_regex_matches_exactly_the_equal_value(label, literal, value):
    regex = [m(label, "=~", re.escape(literal))]
    assert matches(regex, {label: value}) == (value == literal)
    assert matches([m(label, "!~", re.escape(literal))], {label: value}) == (value != literal)


@given(label_names, ops, regex_safe, st.dictionaries(label_names, values, max_size=4))
def test_negative_operators_are_exact_opposites(label, op, value, labels):
    positive = {"!=": "=", "!~": "=~"}.get(op, op)
    negative = {"=": "!=", "=~": "!~"}.get(positive)
    assert matches([m(label, positive, value)], labels) != matches([m(label, negative, value)], labels)
