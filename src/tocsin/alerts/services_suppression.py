"""Use cases for peak-hour suppression rules (E4): checked field by field, audited as configuration."""

from datetime import datetime, time

from django.core.exceptions import ValidationError
from django.db import transaction

from tocsin.catalog.models import Service
from tocsin.core import audit
from tocsin.core.timezones import zone

from .audited import delete_row, update_row
from . import rule_fields
from .models import SuppressionRule

ACTIONS = {value for value, _ in SuppressionRule.ACTIONS}
FIELDS = ("name", "service", "severities", "weekdays", "start_time", "end_time", "time_zone", "action", "enabled")
TIME_FORMATS = ("%H:%M", "%H:%M:%S")




def _service(value):
    """None means every service."""
    if value is None or isinstance(value, Service):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        found = Service.objects.filter(pk=value).first()
        if found is not None:
            return found
    raise ValidationError({"service": "Choose an existing service, or none for every service."})




def _weekdays(value):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in value):
        raise ValidationError({"weekdays": "Give days as numbers from 0 (Monday) to 6 (Sunday)."})
    return sorted(set(value))


def _time(value, field):
    """A wall-clock time of day, as a time or as text HH:MM[:SS]."""
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValidationError({field: "Give a local time without an offset; the rule has its own time zone."})
        return value.replace(microsecond=0)
    if isinstance(value, str):
        for pattern in TIME_FORMATS:
            try:
                return datetime.strptime(value.strip(), pattern).time()
            except ValueError:
                continue
    raise ValidationError({field: "Give a time of day as HH:MM, e.g. 09:00."})


def _time_zone(value):
    zone(value, "time_zone")
    return value


def _action(value):
    if value not in ACTIONS:
        raise ValidationError({"action": f"Use one of {', '.join(sorted(ACTIONS))}."})
    return value




CHECKS = {"name": rule_fields.rule_name, "service": _service, "severities": rule_fields.severities, "weekdays": _weekdays,
          "start_time": lambda v: _time(v, "start_time"), "end_time": lambda v: _time(v, "end_time"),
          "time_zone": _time_zone, "action": _action, "enabled": rule_fields.enabled}


def _cleaned(values):
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ValidationError({unknown[0]: f"'{unknown[0]}' cannot be changed here."})
    return {field: CHECKS[field](value) for field, value in values.items()}


def summary_of(rule):
    return {"name": rule.name, "service": rule.service_id, "severities": rule.severities, "weekdays": rule.weekdays,
            "start_time": rule.start_time.strftime("%H:%M:%S"), "end_time": rule.end_time.strftime("%H:%M:%S"),
            "time_zone": rule.time_zone, "action": rule.action, "enabled": rule.enabled}


def create_suppression_rule(*, actor, name, start_time, end_time, service=None, severities=(), weekdays=(),
                            time_zone="UTC", action=SuppressionRule.RECORD, enabled=True):
    """A weekly local-time window during which alerts of `severities` (all when empty) on
    `service` (every service when None) are recorded only or held. No weekdays means every day;
    an end not after the start crosses midnight."""
    cleaned = _cleaned({"name": name, "service": service, "severities": list(severities or ()),
                        "weekdays": list(weekdays or ()), "start_time": start_time, "end_time": end_time,
                        "time_zone": time_zone, "action": action, "enabled": enabled})
    with transaction.atomic():
        rule = SuppressionRule.objects.create(**cleaned)
        audit.record(actor, "alerts.suppression_rule.create", rule, summary=summary_of(rule))
    return rule


def update_suppression_rule(rule, *, actor, **changes):
    """Change some fields of a rule; the others stay as they are."""
    return update_row(rule, _cleaned(changes), actor=actor, action="alerts.suppression_rule.update",
                      summary=summary_of)


def delete_suppression_rule(rule, *, actor):
    """Remove a rule; alerts it already decided keep their handling and reason."""
    return delete_row(rule, actor=actor, action="alerts.suppression_rule.delete", summary=summary_of)
