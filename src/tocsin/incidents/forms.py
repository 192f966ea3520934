"""HTML forms of the incident pages; the services validate values, these only parse input."""

from django import forms

from tocsin.catalog.models import Service
from tocsin.directory.models import OrgRole, Person
from tocsin.oncall.models import Schedule

from .models import Incident
from .selectors import STATUSES
from .services.lifecycle import MAX_DETAILS, MAX_TITLE

# A page lists a bounded number of choices; the querysets still accept any valid one.
CHOICE_LIMIT = 500
SNOOZE_CHOICES = (30, 60, 240)


def _bounded(field, queryset, blank=True):
    field.widget.choices = ([("", "---------")] if blank else []) + [(o.pk, o.name) for o in queryset[:CHOICE_LIMIT]]


class IncidentFilterForm(forms.Form):
    """The list's filters, read from the query string; an invalid value is shown, not obeyed."""

    status = forms.MultipleChoiceField(choices=[(s, s.capitalize()) for s in STATUSES], required=False,
                                       widget=forms.CheckboxSelectMultiple)
    service = forms.ModelChoiceField(queryset=Service.objects.all(), required=False, empty_label="Any service")
    urgency = forms.ChoiceField(choices=[("", "Any urgency"), *Incident.URGENCIES], required=False)
    mine = forms.BooleanField(required=False, label="Assigned to me")
    unpaged = forms.BooleanField(required=False, label="Nobody acknowledged (unpaged)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bounded(self.fields["service"], Service.objects.order_by("name"), blank=False)
        self.fields["service"].widget.choices = [("", "Any service"), *self.fields["service"].widget.choices]


class IncidentForm(forms.Form):
    service = forms.ModelChoiceField(queryset=Service.objects.none())
    title = forms.CharField(max_length=MAX_TITLE, help_text="What is wrong, in a few words")
    details = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False, max_length=MAX_DETAILS)
    urgency = forms.ChoiceField(choices=Incident.URGENCIES, initial=Incident.HIGH)

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
        _bounded(self.fields["service"], services.order_by("name"))


class ResolveForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=MAX_DETAILS,
                           label="Resolution note")


class SnoozeForm(forms.Form):
    minutes = forms.TypedChoiceField(choices=[(m, f"{m} min") for m in SNOOZE_CHOICES], coerce=int)


class ReassignForm(forms.Form):
    person = forms.ModelChoiceField(queryset=Person.objects.filter(is_active=True), label="Reassign to")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bounded(self.fields["person"], Person.objects.filter(is_active=True, is_vendor=False).order_by("name", "pk"))


class NoteForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=MAX_DETAILS, label="Note")


class RespondersForm(forms.Form):
    people = forms.ModelMultipleChoiceField(queryset=Person.objects.filter(is_active=True), required=False)
    roles = forms.ModelMultipleChoiceField(queryset=OrgRole.objects.all(), required=False, label="Org roles")
    schedules = forms.ModelMultipleChoiceField(queryset=Schedule.objects.all(), required=False)
    message = forms.CharField(max_length=1000, required=False, help_text="Why they are needed")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bounded(self.fields["people"], Person.objects.filter(is_active=True).order_by("name", "pk"), blank=False)
        _bounded(self.fields["roles"], OrgRole.objects.order_by("name"), blank=False)
        _bounded(self.fields["schedules"], Schedule.objects.order_by("name"), blank=False)

    def clean(self):
        data = super().clean()
        if not self.errors and not (data.get("people") or data.get("roles") or data.get("schedules")):
            raise forms.ValidationError("Choose at least one person, role or schedule to page.")
        return data

    def targets(self):
        data = self.cleaned_data
        return [*data["people"], *data["roles"], *data["schedules"]]
