"""HTML forms of the alert pages: adding an integration and filtering the alerts list. They only
parse input; the services check values."""

import json

from django import forms

from tocsin.catalog.models import Service

from . import services
from .models import Alert, Integration

# A page lists a bounded number of services; the queryset still accepts any valid one.
CHOICE_LIMIT = 500
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


class IntegrationForm(forms.Form):
    kind = forms.ChoiceField(choices=Integration.KINDS)
    name = forms.CharField(max_length=services.MAX_NAME, required=False, help_text="Defaults to the kind's name")
    options = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}), required=False, max_length=20_000,
        help_text='JSON, e.g. {"default_severity": "warning"} or a webhook\'s field mapping; empty for none')

    def clean_options(self):
        text = self.cleaned_data["options"].strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("Options must be a JSON object.")
        return value


class AlertFilterForm(forms.Form):
    """The list's filters, read from the query string; an invalid value is shown, not obeyed."""

    service = forms.ModelChoiceField(queryset=Service.objects.all(), required=False, empty_label="Any service")
    status = forms.ChoiceField(choices=[("", "Any status"), (services.OPEN, "Open"), *Alert.STATUSES],
                               required=False)
    handling = forms.ChoiceField(choices=[("", "Any handling"), *Alert.HANDLINGS], required=False)
    severity = forms.ChoiceField(choices=[("", "Any severity"), *Alert.SEVERITIES], required=False)
    incident = forms.IntegerField(min_value=1, max_value=2**31 - 1, required=False, label="Incident #")
    q = forms.CharField(max_length=services.MAX_QUERY, required=False, label="Text",
                        widget=forms.TextInput(attrs={"placeholder": "summary, source or dedup key"}))
    since = forms.DateTimeField(required=False, input_formats=DATETIME_FORMATS, label="Seen since (UTC)",
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    until = forms.DateTimeField(required=False, input_formats=DATETIME_FORMATS, label="First seen before (UTC)",
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].widget.choices = [("", "Any service")] + [
            (pk, name) for pk, name in Service.objects.order_by("name").values_list("pk", "name")[:CHOICE_LIMIT]]

    def filters(self):
        """The services' filter arguments from valid input (empty values mean 'any')."""
        data = self.cleaned_data
        return {"service": data.get("service"), "status": data.get("status") or None,
                "handling": data.get("handling") or None, "severity": data.get("severity") or None,
                "incident_number": data.get("incident"),
                "q": data.get("q") or None, "since": data.get("since"), "until": data.get("until")}
