"""Forms of the notification settings pages: providers (secrets write-only), a provider's test
send, the rows of a person's notification chain, and a service's or team's chat channel."""

import json

from django import forms

from tocsin.directory.values import mask

from . import services_channels
from .chains import CHANNEL_OF
from .models import CHANNELS, Provider, ServiceChannel
from .services import MAX_DELAY_MINUTES

# The credentials each provider kind reads from its secrets.
SECRET_FIELDS = [("username", "Username"), ("password", "Password"), ("account_sid", "Account SID"),
                 ("auth_token", "Auth token"), ("auth_header", "Authorization header (Name: value)"),
                 ("secret", "Signing secret")]
SECRET_KEYS = {
    Provider.SMTP: ("username", "password"),
    Provider.TWILIO: ("account_sid", "auth_token"),
    Provider.SMS_GATEWAY: ("auth_header", "username", "password"),
    Provider.WEBHOOK_KIND: ("secret",),
    Provider.SLACK: (), Provider.TEAMS: (), Provider.APPRISE: (),
}
KEEP = "Leave empty to keep the stored value."


def _json_object(text, field):
    """`text` as a JSON object, or a ValidationError saying where it is wrong."""
    text = (text or "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(f"Not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}.") from None
    if not isinstance(value, dict):
        raise forms.ValidationError(f"{field} are a JSON object, e.g. {{\"host\": \"smtp.example.org\"}}.")
    return value


class ProviderForm(forms.Form):
    name = forms.CharField(max_length=80)
    kind = forms.ChoiceField(choices=Provider.KINDS)
    channels = forms.MultipleChoiceField(choices=CHANNELS, widget=forms.CheckboxSelectMultiple,
                                         help_text="The channels it carries; the kind decides which it can.")
    priority = forms.IntegerField(min_value=0, max_value=1000, initial=10, help_text="Lower is tried first.")
    enabled = forms.BooleanField(required=False, initial=True)
    rate_per_minute = forms.IntegerField(min_value=0, max_value=1_000_000, initial=0, help_text="0: no limit")
    max_concurrent = forms.IntegerField(min_value=0, max_value=10_000, initial=0, help_text="0: no limit")
    settings = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 6, "cols": 70, "class": "mono", "spellcheck": "false"}),
        help_text='Non-secret settings as JSON, e.g. {"host": "smtp.example.org", "port": 587, '
                  '"from_address": "tocsin@example.org", "security": "starttls"}.')
    clear_secrets = forms.BooleanField(required=False, label="Forget the stored credentials")

    def __init__(self, *args, stored_secrets=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.stored_secrets = stored_secrets
        for key, label in SECRET_FIELDS:
            self.fields[f"secret_{key}"] = forms.CharField(
                label=label, required=False, max_length=2000, strip=False,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                help_text=KEEP if stored_secrets else "")
        if not stored_secrets:
            del self.fields["clear_secrets"]

    def clean_settings(self):
        return _json_object(self.cleaned_data.get("settings"), "Settings")

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        wanted = SECRET_KEYS.get(kind, ())
        for key, _ in SECRET_FIELDS:
            if data.get(f"secret_{key}") and key not in wanted:
                self.add_error(f"secret_{key}", f"A {kind} provider does not use this; leave it empty.")
        return data

    def secret_fields(self):
        return [self[f"secret_{key}"] for key, _ in SECRET_FIELDS]

    def plain_fields(self):
        return [self[name] for name in self.fields if not name.startswith("secret_")]

    def values(self):
        data = self.cleaned_data
        return {name: data[name] for name in ("name", "kind", "channels", "priority", "enabled", "rate_per_minute",
                                              "max_concurrent", "settings")}

    def secrets(self, stored):
        """The secrets to save (None: keep the stored ones as they are). An empty field keeps
        its stored value; "forget" keeps only what was typed now."""
        data = self.cleaned_data
        given = {key: data[f"secret_{key}"] for key, _ in SECRET_FIELDS if data.get(f"secret_{key}")}
        if data.get("clear_secrets"):
            return given
        if not given:
            return None
        return {**stored, **given}


class TestSendForm(forms.Form):
    channel = forms.ChoiceField(choices=CHANNELS)
    to = forms.CharField(label="Destination", max_length=500,
                         help_text="An e-mail address, an E.164 number (+14155550100) or a URL, as the channel wants.")

    def __init__(self, provider, *args, **kwargs):
        kwargs.setdefault("auto_id", f"id_test{provider.pk}_%s")  # one form per provider on the page
        super().__init__(*args, **kwargs)
        names = dict(CHANNELS)
        self.fields["channel"].choices = [(c, names.get(c, c)) for c in provider.channels or []]


class RuleRowForm(forms.Form):
    method = forms.ChoiceField(required=False)
    delay_minutes = forms.IntegerField(label="Minutes after the page", min_value=0, max_value=MAX_DELAY_MINUTES,
                                       initial=0, required=False)

    def __init__(self, *args, methods=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [("", "— none (remove this row) —")] + method_choices(methods)
        self.fields["method"].widget.attrs["aria-label"] = "Contact method"
        self.fields["delay_minutes"].widget.attrs["aria-label"] = "Minutes after the page"


class RuleRows(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.fields["ORDER"].widget.attrs["aria-label"] = "Order"
        form.fields["DELETE"].widget.attrs["aria-label"] = "Remove this step"


def method_choices(methods):
    return [(str(m.pk), f"{m.get_kind_display()}: {mask(m.kind, m.value)}" + ("" if m.is_active else " (off)"))
            for m in methods if m.kind in CHANNEL_OF]


RuleFormSet = forms.formset_factory(RuleRowForm, formset=RuleRows, extra=2, can_order=True, can_delete=True, max_num=10,
                                    absolute_max=20)


def rule_formset(urgency, methods, data=None, initial=None):
    return RuleFormSet(data, initial=initial, prefix=urgency, form_kwargs={"methods": methods})


class ChannelForm(forms.Form):
    name = forms.CharField(max_length=services_channels.MAX_NAME, help_text="For example #ops-payments")
    kind = forms.ChoiceField(choices=ServiceChannel.KINDS)
    # The URL is the room's credential: typed in, never shown back (not even after an error).
    url = forms.CharField(label="Webhook URL", max_length=services_channels.MAX_URL, strip=True,
                          widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                          help_text="Slack: https://hooks.slack.com/services/…; Teams: the workflow's URL.")
    secret = forms.CharField(label="Signing secret", required=False, max_length=500,
                             widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                             help_text=f"Signed webhooks only: at least {services_channels.MIN_SECRET} characters.")
    events = forms.MultipleChoiceField(choices=[(e, e.capitalize()) for e in ServiceChannel.EVENTS],
                                       widget=forms.CheckboxSelectMultiple, initial=ServiceChannel.EVENTS)
    enabled = forms.BooleanField(required=False, initial=True)
