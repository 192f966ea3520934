"""Checks of the fields every kind of alert rule shares: its name, on/off, and severities."""

from django.core.exceptions import ValidationError

from .events import SEVERITIES

MAX_NAME = 120


def rule_name(value):
    name = value.strip() if isinstance(value, str) else ""
    if not name:
        raise ValidationError({"name": "Give the rule a name."})
    if len(name) > MAX_NAME:
        raise ValidationError({"name": f"At most {MAX_NAME} characters."})
    return name


def enabled(value):
    if not isinstance(value, bool):
        raise ValidationError({"enabled": "Say true or false."})
    return value


def severities(value):
    """A list of severities, in one order without repeats; none (empty) means every severity."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValidationError({"severities": f"Give a list among {', '.join(SEVERITIES)}."})
    unknown = [v for v in value if v not in SEVERITIES]
    if unknown:
        raise ValidationError({"severities": f"Unknown severity '{unknown[0][:40]}'; use {', '.join(SEVERITIES)}."})
    return [s for s in SEVERITIES if s in value]
