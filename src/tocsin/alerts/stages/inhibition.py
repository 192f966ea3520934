"""Inhibition (E2), as in Alertmanager: while an open alert matches a rule's source matchers, a
new alert matching its target matchers, and agreeing with that open alert on every `equal`
label, is recorded but pages nobody. The sources are open alerts of any service; an alert never
inhibits itself. Labels missing or empty on both sides count as equal, as in Alertmanager."""

import logging

from django.core.exceptions import ValidationError
from django.db.models import BooleanField, TextField
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from .. import matchers
from ..models import Alert, InhibitionRule
from ..pipeline import Decision, stage

log = logging.getLogger("tocsin.alerts")
SOURCE_FIELDS = ("id", "dedup_key", "service_id", "service__slug", "labels", "severity", "source", "component",
                 "group", "alert_class")
# Names that matching also reads from the alert's own fields: not pushed into SQL, since the
# label may be missing from `labels` and the field stand in for it.
DERIVED = set(matchers.FIELD_LABELS) | {matchers.SERVICE_LABEL}
# Written out, not bound as parameters, so that SQLite sees that the partial index of open alerts
# (alert_open_dedup_key) covers the query and reads only open alerts instead of the whole table.
OPEN_ALERTS = RawSQL(f"{Alert._meta.db_table}.status IN ('{Alert.TRIGGERED}', '{Alert.ACKNOWLEDGED}')", (),
                     output_field=BooleanField())


def _usable(rule):
    try:
        rule.source_matchers = matchers.validate(rule.source_matchers)
        rule.target_matchers = matchers.validate(rule.target_matchers)
    except ValidationError:
        return False
    equal_names = isinstance(rule.equal, list) and all(isinstance(name, str) for name in rule.equal)
    return bool(rule.source_matchers and rule.target_matchers and equal_names)


def enabled_rules():
    """The enabled rules, checked: one written around the use cases with a broken matcher is
    skipped and logged, rather than failing the processor for every alert."""
    rules = []
    for rule in InhibitionRule.objects.filter(enabled=True).order_by("id"):
        if _usable(rule):
            rules.append(rule)
        else:
            log.warning("inhibition rule %s is not valid; it is skipped", rule.pk)
    return rules


def _narrowed(sources, rule, target):
    """`sources` kept to those whose plain labels have the values an equality matcher or an
    `equal` label (one the target has) requires. The matching itself happens in Python; this
    only keeps the database from sending back open alerts that cannot match."""
    fixed = {}
    for matcher in rule.source_matchers:
        if matcher["op"] == matchers.EQUAL and matcher["value"] and matcher["label"] not in DERIVED:
            fixed.setdefault(matcher["label"], set()).add(matcher["value"])
    for name in rule.equal:
        if name not in DERIVED and target.get(name):
            fixed.setdefault(name, set()).add(target[name])
    for index, (name, values) in enumerate(fixed.items()):
        if len(values) > 1:
            return sources.none()  # one label cannot have two values
        # Compared as text, as matching does; an expression, so names like __name__ stay one key.
        text = Cast(KeyTextTransform(name, "labels"), TextField())
        sources = sources.alias(**{f"label_{index}": text}).filter(
            **{f"label_{index}": values.pop()})
    return sources


def inhibiting_alert(rule, alert, target):
    """An open alert (other than `alert`) that makes `rule` inhibit the target, or None."""
    open_alerts = Alert.objects.filter(OPEN_ALERTS).exclude(pk=alert.pk)
    # Unordered: any source will do, and an order would have SQLite scan the table in id order.
    sources = _narrowed(open_alerts, rule, target).select_related("service").only(*SOURCE_FIELDS).order_by()
    for source in sources.iterator(chunk_size=500):
        labels = matchers.alert_labels(source)
        if not matchers.matches(rule.source_matchers, labels):
            continue
        if all(labels.get(name, "") == target.get(name, "") for name in rule.equal):
            return source
    return None


@stage("inhibition")
def decide(alert, settings, now):
    rules = enabled_rules()
    if not rules:
        return None
    target = matchers.alert_labels(alert)
    for rule in rules:
        if not matchers.matches(rule.target_matchers, target):
            continue
        source = inhibiting_alert(rule, alert, target)
        if source is not None:
            return Decision(handling=Alert.SUPPRESSED,
                            reason=f"inhibited by {rule.name} (alert {source.dedup_key})")
    return None
