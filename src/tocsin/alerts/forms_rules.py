"""HTML forms of the alert rules page. They only parse input; the services check the values and
name the field of any problem."""

from django import forms
from django.utils import timezone

from tocsin.catalog.models import Service
from tocsin.core.timezones import zone_names

from .events import SEVERITIES
from .models import SuppressionRule
from .outbound import EVENTS
from .schemas_rules import EARLIEST_YEAR, LATEST_YEAR

WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]
WALL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class WallClockField(forms.DateTimeField):
    """A date and time as read on the wall clock of the zone chosen beside it: returned naive, so
    that the use case places it in that zone (Django would read it in the server's zone)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def __init__(self, **kwargs):
        super().__init__(input_formats=WALL_FORMATS, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None and timezone.is_aware(value):
            value = timezone.make_naive(value, timezone.get_current_timezone())
        if value is not None and not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
            raise forms.ValidationError(f"Give a date between the years {EARLIEST_YEAR} and {LATEST_YEAR}.")
        return value


class RulesForm(forms.Form):
    """The page shows every form at once: each gets its own element ids (field names stay plain)."""

    id_prefix = "rule"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


def _service_choices():
    return Service.objects.order_by("name")


def _zone_field():
    return forms.ChoiceField(choices=[(name, name) for name in zone_names()], initial="UTC", label="Time zone")


class MaintenanceWindowForm(RulesForm):
    id_prefix = "window"

    name = forms.CharField(max_length=120)
    services = forms.ModelMultipleChoiceField(queryset=_service_choices(),
                                              widget=forms.SelectMultiple(attrs={"size": 6}))
    starts_at = WallClockField(label="Starts (local time)")
    ends_at = WallClockField(label="Ends (local time)")
    time_zone = _zone_field()
    recurrence = forms.CharField(max_length=255, required=False, label="Repeats (RRULE)",
                                 help_text="Optional, e.g. FREQ=WEEKLY;BYDAY=SU")
    reason = forms.CharField(max_length=255, required=False)


class SuppressionRuleForm(RulesForm):
    id_prefix = "peak"

    name = forms.CharField(max_length=120)
    service = forms.ModelChoiceField(queryset=_service_choices(), required=False, empty_label="Every service")
    severities = forms.MultipleChoiceField(choices=[(s, s) for s in SEVERITIES], required=False,
                                           widget=forms.CheckboxSelectMultiple, help_text="None ticked: every severity")
    weekdays = forms.TypedMultipleChoiceField(choices=WEEKDAYS, coerce=int, required=False,
                                              widget=forms.CheckboxSelectMultiple, help_text="None ticked: every day")
    start_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"), label="From")
    end_time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"), label="Until",
                               help_text="Not after the start: the window crosses midnight")
    time_zone = _zone_field()
    action = forms.ChoiceField(choices=SuppressionRule.ACTIONS)


class RoutingRuleForm(RulesForm):
    id_prefix = "routing"

    name = forms.CharField(max_length=120)
    service = forms.ModelChoiceField(queryset=_service_choices(), label="Route to")
    matchers = forms.CharField(max_length=4000, required=False,
                               widget=forms.TextInput(attrs={"placeholder": 'team="db", env=~"prod|staging"',
                                                             "spellcheck": "false"}),
                               help_text="Alertmanager matchers; empty matches every label set")
    severities = forms.MultipleChoiceField(choices=[(s, s) for s in SEVERITIES], required=False,
                                           widget=forms.CheckboxSelectMultiple)
    source_pattern = forms.CharField(max_length=255, required=False, label="Source (regular expression)")
    position = forms.IntegerField(min_value=0, required=False, help_text="Lower is tried first; empty: last")


class InhibitionRuleForm(RulesForm):
    id_prefix = "inhibition"

    name = forms.CharField(max_length=120)
    source_matchers = forms.CharField(max_length=4000, label="While an open alert matches",
                                      widget=forms.TextInput(attrs={"placeholder": 'alertname="DatacenterDown"',
                                                                    "spellcheck": "false"}))
    target_matchers = forms.CharField(max_length=4000, label="Silence alerts matching",
                                      widget=forms.TextInput(attrs={"placeholder": 'severity=~"warning|info"',
                                                                    "spellcheck": "false"}))
    equal = forms.CharField(max_length=2000, required=False, label="Equal labels",
                            help_text="Comma-separated label names both must share, e.g. cluster, region")

    def clean_equal(self):
        return [name.strip() for name in self.cleaned_data["equal"].split(",") if name.strip()]


class OutboundWebhookForm(RulesForm):
    id_prefix = "webhook"

    name = forms.CharField(max_length=120)
    url = forms.CharField(max_length=1000, label="URL", widget=forms.URLInput)
    events = forms.MultipleChoiceField(choices=[(e, e) for e in EVENTS], required=False,
                                       widget=forms.CheckboxSelectMultiple, help_text="None ticked: every change")
    services = forms.ModelMultipleChoiceField(queryset=_service_choices(), required=False,
                                              widget=forms.SelectMultiple(attrs={"size": 4}),
                                              help_text="None chosen: every service")
    security_only = forms.BooleanField(required=False, label="Security incidents only")
