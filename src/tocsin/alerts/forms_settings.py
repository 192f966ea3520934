"""The form of a service's alert settings: grouping, correlation, sustained triggers, floods, links."""

from django import forms

from .models import ServiceAlertSettings

OPTIONAL_MINUTES = dict(required=False, min_value=1)


class AlertSettingsForm(forms.Form):
    grouping = forms.ChoiceField(choices=ServiceAlertSettings.GROUPINGS)
    group_labels = forms.CharField(required=False, help_text="Label names, separated by commas")
    group_window_minutes = forms.IntegerField(min_value=1)
    resolve_with_alerts = forms.BooleanField(required=False, label="Resolve the incident when all its alerts are")
    suppress_dependents = forms.BooleanField(
        required=False, label="Alerts caused by an upstream incident join it without paging")
    min_occurrences = forms.IntegerField(label="Only after N firings", **OPTIONAL_MINUTES)
    occurrence_window_minutes = forms.IntegerField(label="…within M minutes", **OPTIONAL_MINUTES)
    open_for_minutes = forms.IntegerField(label="Only once open for X minutes", **OPTIONAL_MINUTES)
    baseline_deviations = forms.FloatField(required=False, label="Only above the baseline by k deviations")
    baseline_window_minutes = forms.IntegerField(min_value=1)
    flood_limit = forms.IntegerField(required=False, min_value=1, label="Flood after this many incidents")
    flood_window_minutes = forms.IntegerField(min_value=1)
    link_templates = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One link a line: text | https://…{{labels.host}}")

    @classmethod
    def of(cls, settings, data=None):
        initial = {name: getattr(settings, name) for name in cls.base_fields}
        initial["group_labels"] = ", ".join(settings.group_labels)
        initial["link_templates"] = "\n".join(f"{t.get('text', '')} | {t.get('href', '')}" for t in settings.link_templates)
        return cls(data, initial=initial)

    def values(self):
        values = dict(self.cleaned_data)
        values["group_labels"] = [name.strip() for name in values["group_labels"].split(",") if name.strip()]
        links = []
        for line in values["link_templates"].splitlines():
            if line.strip():
                text, _, href = line.rpartition("|") if "|" in line else ("", "", line)
                links.append({"text": text.strip(), "href": href.strip()})
        values["link_templates"] = links
        return values
