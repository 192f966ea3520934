"""HTML forms for sign-in, MFA, tokens and user administration."""

from django import forms

from .models import Team
from .permissions import PERMISSIONS, ROLES


class LoginForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(max_length=200, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=16,
        label="Code",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class TokenForm(forms.Form):
    name = forms.CharField(max_length=120)
    expires_days = forms.IntegerField(min_value=1, max_value=3650, required=False, label="Expires after (days)")
    scopes = forms.MultipleChoiceField(
        choices=[(name, name) for name in PERMISSIONS], required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Leave empty for all of your non-interactive permissions.",
    )


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    password = forms.CharField(max_length=200, required=False, widget=forms.PasswordInput, help_text="At least 10 characters.")
    roles = forms.MultipleChoiceField(choices=list(ROLES.items()), required=False, widget=forms.CheckboxSelectMultiple)


class RoleAssignForm(forms.Form):
    role = forms.ChoiceField(choices=list(ROLES.items()))
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, empty_label="Every team", to_field_name="slug")


class TeamForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class MembershipForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.all(), to_field_name="slug")
