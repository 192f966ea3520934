"""Use case: how a service's alerts become incidents (grouping, correlation, sustained triggers,
link templates). Audited as configuration."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tocsin.core import audit

from .models import ServiceAlertSettings

GROUPINGS = {value for value, _ in ServiceAlertSettings.GROUPINGS}
MAX_WINDOW_MINUTES = 7 * 24 * 60
FIELDS = ("grouping", "group_labels", "group_window_minutes", "resolve_with_alerts", "suppress_dependents",
          "min_occurrences", "occurrence_window_minutes", "open_for_minutes", "baseline_deviations",
          "baseline_window_minutes", "flood_limit", "flood_window_minutes", "link_templates")


def _minutes(errors, name, value, *, optional):
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WINDOW_MINUTES:
        errors[name] = f"Give whole minutes from 1 to {MAX_WINDOW_MINUTES}{', or none' if optional else ''}."
    return value


def _labels(errors, value):
    if not isinstance(value, list) or len(value) > 20 or not all(
            isinstance(v, str) and 0 < len(v) <= 100 for v in value):
        errors["group_labels"] = "Give a list of up to 20 label names."
        return []
    return list(dict.fromkeys(v.strip() for v in value))


def _templates(errors, value):
    if not isinstance(value, list) or len(value) > 20:
        errors["link_templates"] = "Give a list of up to 20 links, each {text, href}."
        return []
    for index, item in enumerate(value):
        if not (isinstance(item, dict) and set(item) <= {"text", "href"} and isinstance(item.get("href"), str)
                and item["href"].startswith(("https://", "http://")) and len(item["href"]) <= 2000
                and isinstance(item.get("text", ""), str) and len(item.get("text", "")) <= 120):
            errors[f"link_templates[{index}]"] = "Each link is {text, href} with an http(s) href."
    return value


def check(values):
    errors = {}
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        errors[unknown[0]] = f"Unknown setting '{unknown[0]}'."
    cleaned = dict(values)
    if "grouping" in values and values["grouping"] not in GROUPINGS:
        errors["grouping"] = f"Use one of {', '.join(sorted(GROUPINGS))}."
    if "group_labels" in values:
        cleaned["group_labels"] = _labels(errors, values["group_labels"])
    for name in ("group_window_minutes", "baseline_window_minutes", "flood_window_minutes"):
        if name in values:
            _minutes(errors, name, values[name], optional=False)
    for name in ("min_occurrences", "occurrence_window_minutes", "open_for_minutes", "flood_limit"):
        if name in values:
            _minutes(errors, name, values[name], optional=True)
    for name in ("resolve_with_alerts", "suppress_dependents"):
        if name in values and not isinstance(values[name], bool):
            errors[name] = "Give true or false."
    deviations = values.get("baseline_deviations")
    if deviations is not None and (isinstance(deviations, bool) or not isinstance(deviations, (int, float))
                                   or not 0.5 <= deviations <= 10):
        errors["baseline_deviations"] = "Give a number of standard deviations from 0.5 to 10, or none."
    if "link_templates" in values:
        cleaned["link_templates"] = _templates(errors, values["link_templates"])
    if errors:
        raise ValidationError(errors)
    return cleaned


def update_alert_settings(service, values, *, actor):
    """Change some of `service`'s alert settings; the others keep their value (or default)."""
    cleaned = check(values)
    with transaction.atomic():
        settings, _ = ServiceAlertSettings.objects.select_for_update().get_or_create(service=service)
        for name, value in cleaned.items():
            setattr(settings, name, value)
        if (settings.min_occurrences is None) != (settings.occurrence_window_minutes is None):
            raise ValidationError({"min_occurrences": "Give both a count and its window in minutes, or neither."})
        settings.updated_at = timezone.now()
        settings.save()
        audit.record(actor, "alerts.settings.update", service, summary={"changed": sorted(cleaned)})
    return settings
