"""Use cases for global routing rules and inhibition rules: checked, audited as configuration."""

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from tocsin.catalog.models import Service
from tocsin.core import audit

from . import matchers as label_matchers
from . import routing
from .audited import delete_row, update_row
from . import rule_fields
from .models import InhibitionRule, RoutingRule

MAX_POSITION = 100_000
MAX_EQUAL_LABELS = 20
ROUTING_FIELDS = ("name", "service", "matchers", "severities", "source_pattern", "position", "enabled")
INHIBITION_FIELDS = ("name", "source_matchers", "target_matchers", "equal", "enabled")








def _source_pattern(value):
    pattern = value or ""
    if not isinstance(pattern, str) or len(pattern) > 255:
        raise ValidationError({"source_pattern": "Give a regular expression of at most 255 characters."})
    try:
        label_matchers.compiled(pattern)
    except re.error as exc:
        raise ValidationError({"source_pattern": f"Not a valid regular expression ({exc})."}) from None
    return pattern


def _service(value):
    if isinstance(value, Service):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        found = Service.objects.filter(pk=value).first()
        if found is not None:
            return found
    raise ValidationError({"service": "Choose an existing service to route to."})


def _position(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_POSITION:
        raise ValidationError({"position": f"Give a whole number from 0 to {MAX_POSITION}."})
    return value


def _equal(value):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or len(value) > MAX_EQUAL_LABELS:
        raise ValidationError({"equal": f"Give a list of up to {MAX_EQUAL_LABELS} label names."})
    for name in value:
        if not isinstance(name, str) or not label_matchers.LABEL_NAME.fullmatch(name):
            raise ValidationError({"equal": f"'{str(name)[:100]}' is not a label name."})
    return list(dict.fromkeys(value))


def _unknown(changes, allowed):
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise ValidationError({unknown[0]: f"'{unknown[0]}' cannot be changed here."})


def _routing_values(values):
    cleaned = {}
    checks = {"name": rule_fields.rule_name, "service": _service, "matchers": label_matchers.validate, "severities": rule_fields.severities,
              "source_pattern": _source_pattern, "position": _position, "enabled": rule_fields.enabled}
    for field, value in values.items():
        cleaned[field] = checks[field](value)
    return cleaned


def _routing_summary(rule):
    return {"name": rule.name, "service": rule.service_id, "position": rule.position,
            "matchers": label_matchers.describe_all(rule.matchers), "severities": rule.severities,
            "source_pattern": rule.source_pattern, "enabled": rule.enabled}


def _routing_changed():
    # Other processes catch up on their own within seconds (routing.FRESH_SECONDS).
    transaction.on_commit(routing.forget)


def create_routing_rule(*, actor, name, service, matchers=(), severities=(), source_pattern="", position=None,
                        enabled=True):
    """A rule sending matching alerts of service-less integrations to `service`. Without a
    position it goes last. With no matchers, severities or source pattern it catches everything."""
    values = {"name": name, "service": service, "matchers": matchers if isinstance(matchers, str)
              else list(matchers or ()), "severities": severities, "source_pattern": source_pattern, "enabled": enabled}
    if position is not None:
        values["position"] = position
    cleaned = _routing_values(values)
    with transaction.atomic():
        if "position" not in cleaned:
            last = RoutingRule.objects.aggregate(last=Max("position"))["last"]
            cleaned["position"] = 0 if last is None else min(last + 1, MAX_POSITION)
        rule = RoutingRule.objects.create(**cleaned)
        audit.record(actor, "alerts.routing_rule.create", rule, summary=_routing_summary(rule))
        _routing_changed()
    return rule


def update_routing_rule(rule, *, actor, **changes):
    _unknown(changes, ROUTING_FIELDS)
    with transaction.atomic():
        rule = update_row(rule, _routing_values(changes), actor=actor, action="alerts.routing_rule.update",
                          summary=_routing_summary)
        _routing_changed()
    return rule


def delete_routing_rule(rule, *, actor):
    with transaction.atomic():
        deleted = delete_row(rule, actor=actor, action="alerts.routing_rule.delete", summary=_routing_summary)
        _routing_changed()
    return deleted


def _inhibition_values(values):
    cleaned = {}
    for field, value in values.items():
        if field == "name":
            cleaned[field] = rule_fields.rule_name(value)
        elif field in ("source_matchers", "target_matchers"):
            found = label_matchers.validate(value, field=field)
            # Without matchers a side would be every alert: everything silencing everything.
            if not found:
                raise ValidationError({field: "Give at least one matcher."})
            cleaned[field] = found
        elif field == "equal":
            cleaned[field] = _equal(value)
        else:
            cleaned[field] = rule_fields.enabled(value)
    return cleaned


def _inhibition_summary(rule):
    return {"name": rule.name, "source_matchers": label_matchers.describe_all(rule.source_matchers),
            "target_matchers": label_matchers.describe_all(rule.target_matchers), "equal": rule.equal,
            "enabled": rule.enabled}


def create_inhibition_rule(*, actor, name, source_matchers, target_matchers, equal=(), enabled=True):
    """While an open alert matches `source_matchers`, new alerts matching `target_matchers` that
    agree with it on every `equal` label are recorded but page nobody."""
    cleaned = _inhibition_values({"name": name, "source_matchers": source_matchers,
                                  "target_matchers": target_matchers, "equal": list(equal or ()), "enabled": enabled})
    with transaction.atomic():
        rule = InhibitionRule.objects.create(**cleaned)
        audit.record(actor, "alerts.inhibition_rule.create", rule, summary=_inhibition_summary(rule))
    return rule


def update_inhibition_rule(rule, *, actor, **changes):
    _unknown(changes, INHIBITION_FIELDS)
    return update_row(rule, _inhibition_values(changes), actor=actor, action="alerts.inhibition_rule.update",
                      summary=_inhibition_summary)


def delete_inhibition_rule(rule, *, actor):
    return delete_row(rule, actor=actor, action="alerts.inhibition_rule.delete", summary=_inhibition_summary)
