"""HTML forms of the directory pages; the services validate values, these only parse input."""

from django import forms
from django.core.exceptions import ValidationError

from tocsin.core.models import Team

from .models import ContactMethod, OrgRole, Person, Site

ACTIVE_CHOICES = [("yes", "Active"), ("no", "Deactivated"), ("all", "Everyone")]


class PeopleFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Name")
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"), required=False, to_field_name="slug", empty_label="Any team"
    )
    site = forms.ModelChoiceField(
        queryset=Site.objects.order_by("name"), required=False, to_field_name="slug", empty_label="Any site"
    )
    active = forms.ChoiceField(choices=ACTIVE_CHOICES, required=False, label="Status")

    def filter(self, queryset):
        """Apply the valid filters; an invalid one is ignored rather than failing the page."""
        self.is_valid()
        data = self.cleaned_data  # holds only the fields that parsed
        if data.get("q"):
            queryset = queryset.filter(name__icontains=data["q"].strip())
        if data.get("team"):
            queryset = queryset.filter(teams=data["team"])
        if data.get("site"):
            queryset = queryset.filter(site=data["site"])
        active = data.get("active") or "yes"
        if active != "all":
            queryset = queryset.filter(is_active=active == "yes")
        return queryset


class MethodForm(forms.Form):
    kind = forms.ChoiceField(choices=ContactMethod.KINDS)
    value = forms.CharField(max_length=500, required=False)
    label = forms.CharField(max_length=80, required=False, help_text="For example 'mobile' or 'office'")
    availability = forms.CharField(
        max_length=120, initial="24/7", help_text="'24/7', or for example 'Mon-Fri 08:00-18:00 Europe/Berlin'"
    )
    usage = forms.ChoiceField(choices=ContactMethod.USAGES, initial=ContactMethod.ROUTINE)
    order = forms.IntegerField(min_value=0, max_value=1000, initial=0, help_text="Lower numbers are tried first")
    is_active = forms.BooleanField(required=False, initial=True, label="In use")

    def __init__(self, *args, method=None, **kwargs):
        self.method = method
        if method is not None:
            kwargs.setdefault("initial", {
                "kind": method.kind, "label": method.label, "availability": method.availability,
                "usage": method.usage, "order": method.order, "is_active": method.is_active,
            })
        super().__init__(*args, **kwargs)
        if method is None:
            del self.fields["is_active"]
            self.fields["value"].required = True
        else:
            # The current value is not sent to the browser: editing is not a reveal.
            self.fields["value"].help_text = "Leave empty to keep the current value."
            self.fields["value"].widget.attrs["placeholder"] = ""

    def changes(self):
        """The fields to hand to the service: on edit, an empty value keeps the current one."""
        fields = dict(self.cleaned_data)
        if self.method is not None and not fields.get("value"):
            fields.pop("value", None)
        return fields


class DelegationForm(forms.Form):
    delegate = forms.ModelChoiceField(queryset=Person.objects.none(), label="Stand-in")
    starts_at = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="From")
    ends_at = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="Until")
    reason = forms.CharField(max_length=200, required=False)

    STAND_IN_LIMIT = 500

    def __init__(self, *args, person, **kwargs):
        super().__init__(*args, **kwargs)
        # Stand-ins come from the person's teams; a person without a team may pick anyone active.
        candidates = Person.objects.filter(is_active=True).exclude(pk=person.pk).order_by("name")
        team_ids = [team.pk for team in person.teams.all()]
        if team_ids:
            candidates = candidates.filter(teams__in=team_ids).distinct()
        self.fields["delegate"].queryset = candidates
        self.fields["delegate"].widget.choices = [("", "---------")] + [
            (p.pk, p.name) for p in candidates[: self.STAND_IN_LIMIT]
        ]


class GrantRequestForm(forms.Form):
    SCOPES = [("person", "One person"), ("team", "A team"), ("role", "A role")]

    scope = forms.ChoiceField(choices=SCOPES, widget=forms.RadioSelect, initial="person")
    person = forms.ModelChoiceField(
        queryset=Person.objects.filter(is_active=True), required=False, widget=forms.HiddenInput
    )
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False, to_field_name="slug")
    role = forms.ModelChoiceField(queryset=OrgRole.objects.order_by("name"), required=False, to_field_name="slug")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    duration_minutes = forms.IntegerField(min_value=1, max_value=100_000, initial=60, label="Duration (minutes)")

    def clean(self):
        data = super().clean()
        scope = data.get("scope")
        if scope and not data.get(scope):
            field = scope if scope != "person" else None  # the person is chosen on their page
            message = {
                "person": "Open the person's page and choose 'Request access' there.",
                "team": "Choose the team.",
                "role": "Choose the role.",
            }[scope]
            raise ValidationError({field: message} if field else message)
        return data

    def scope_kwargs(self):
        scope = self.cleaned_data["scope"]
        return {scope: self.cleaned_data[scope]}
