"""Forms of the notification settings pages: providers (settings as per-kind fields, secrets and
chat or webhook target URLs write-only), a provider's test send, the rows of a person's notification
chain, and a service's or team's chat channel."""

import json
import re
from email.headerregistry import Address
from email.utils import parseaddr
from urllib.parse import urlsplit

from django import forms

from tocsin.directory.values import mask

from . import services_channels
from .chains import CHANNEL_OF
from .models import CHANNELS, Provider, ServiceChannel
from .providers.apprise import apprise_library
from .providers.sms_gateway import DEFAULT_TEMPLATE, PLACEHOLDERS, TemplateError, fill
from .providers.twilio import DEFAULT_BASE_URL
from .services import MAX_DELAY_MINUTES, URL_KINDS

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
URL_KEY = "url"  # of URL_KINDS: a credential, kept with the secrets and never shown back


# --- provider settings, one set of fields per kind --------------------------------
#
# Each provider kind reads a few settings (see providers/*.py); the form shows them as fields, named
# "<kind>_<setting>", so that an administrator writes no JSON for the usual case. Only the chosen
# kind's fields count: the others are ignored, whatever they hold (the page shows them all without JS).

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP header name (RFC 9110 token)
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
_SHORT_CODE = re.compile(r"^\d{3,8}$")
_MESSAGING_SERVICE = re.compile(r"^MG[0-9a-fA-F]{32}$")
DEFAULT_TIMEOUT_SECONDS = 10


def http_url(value):
    """`value` if it is an http(s) URL with a host; single-label hosts (an internal gateway) are fine."""
    try:
        parts = urlsplit(value)
        parts.port  # raises on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise forms.ValidationError("Enter an http:// or https:// URL, e.g. https://sms.example.org/send.")
    return value


class HttpUrlField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 2000)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return http_url(value) if value else value


class AppriseUrlField(forms.CharField):
    """An Apprise URL (mailto://, tgram://, json://…). It holds the service's token: errors never quote it."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        scheme, separator, _ = value.partition("://")
        if not separator or not scheme:
            raise forms.ValidationError("Enter an Apprise URL, such as tgram://bottoken/ChatID or json://host/path.")
        if apprise_library is not None and not apprise_library.Apprise().add(value):
            raise forms.ValidationError(f"Apprise cannot use this URL (scheme '{scheme[:20]}').")
        return value


class SenderAddressField(forms.CharField):
    """The From of outgoing mail: `alerts@example.org` or `Tocsin <alerts@example.org>`."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        _, address = parseaddr(value)
        try:
            Address(addr_spec=address)
        except (ValueError, IndexError):
            address = ""
        if "@" not in address or "\n" in value or "\r" in value:
            raise forms.ValidationError("Enter an e-mail address, e.g. tocsin@example.org or "
                                        "Tocsin <tocsin@example.org>.")
        return value


class TwilioSenderField(forms.CharField):
    """A number in E.164 form, a short code, or an alphanumeric sender ID (SMS only)."""

    def clean(self, value):
        value = super().clean(value)
        if value and not (_E164.match(value) or _SHORT_CODE.match(value) or _ALPHANUMERIC_SENDER.match(value)):
            raise forms.ValidationError("Enter a number in E.164 form (+14155550100), a short code, or an "
                                        "alphanumeric sender ID of at most 11 letters and digits.")
        return value


class MessagingServiceField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        if value and not _MESSAGING_SERVICE.match(value):
            raise forms.ValidationError("A messaging service SID is MG followed by 32 hexadecimal digits.")
        return value


class JsonObjectField(forms.CharField):
    """A JSON object typed in a textarea, cleaned to a dict ({} when empty)."""

    def __init__(self, *, rows=6, what="Settings", example='{"host": "smtp.example.org"}', placeholder="", **kwargs):
        self.what, self.example = what, example
        attrs = {"rows": rows, "cols": 70, "class": "mono", "spellcheck": "false"}
        if placeholder:
            attrs["placeholder"] = placeholder
        kwargs.setdefault("widget", forms.Textarea(attrs=attrs))
        super().__init__(**kwargs)

    def clean(self, value):
        return json_object(super().clean(value), self.what, self.example)


class HeaderLinesField(forms.CharField):
    """Request headers, one "Name: value" per line, cleaned to a dict."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3, "cols": 70, "class": "mono",
                                                          "spellcheck": "false"}))
        kwargs.setdefault("max_length", 8000)
        super().__init__(**kwargs)

    def clean(self, value):
        headers = {}
        for number, line in enumerate((super().clean(value) or "").splitlines(), start=1):
            if not line.strip():
                continue
            name, colon, text = line.partition(":")
            name = name.strip()
            if not colon or not _TOKEN.match(name):
                raise forms.ValidationError(f"Line {number} is not 'Name: value' (e.g. X-Api-Version: 2).")
            if name.lower() in (known.lower() for known in headers):
                raise forms.ValidationError(f"Line {number}: the header {name} is given twice.")
            if name.lower() == "authorization":
                raise forms.ValidationError(f"Line {number}: Authorization is a credential; put it under "
                                            "Credentials (Authorization header), where it is stored encrypted.")
            headers[name] = text.strip()
        return headers


class StatusListField(forms.CharField):
    """HTTP statuses as a comma list ("200, 202"), cleaned to a list of ints."""

    def clean(self, value):
        statuses = []
        for item in (super().clean(value) or "").split(","):
            item = item.strip()
            if not item:
                continue
            if not item.isdigit() or not 100 <= int(item) <= 599:
                raise forms.ValidationError(f"'{item[:20]}' is not an HTTP status; write numbers from 100 to 599, "
                                            "separated by commas.")
            statuses.append(int(item))
        return statuses


def _timeout():
    return forms.FloatField(label="Timeout (seconds)", min_value=0.1, max_value=300,
                            help_text=f"Empty: {DEFAULT_TIMEOUT_SECONDS} seconds.")


def _url(help_text, **kwargs):
    return HttpUrlField(label="URL", help_text=help_text, **kwargs)


def _write_only():
    """The widget of a target URL that is a credential: typed in, never shown back (not even after an error)."""
    return forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"})


def url_hint(kind, url):
    """A stored target URL as the edit page may show it: the scheme and host of an http(s) URL, the
    scheme alone of an Apprise URL (whose "host" is often the token)."""
    try:
        parts = urlsplit(url or "")
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return "…"
    if not parts.scheme:
        return "…"
    if kind == Provider.APPRISE or parts.scheme not in ("http", "https") or not host:
        return f"{parts.scheme}://…"
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}/…"


def kind_fields():
    """Per kind, its settings as {setting key: form field} (new field objects on each call)."""
    return {
        Provider.SMTP: {
            "host": forms.CharField(label="Host", max_length=255, help_text="The mail relay, e.g. smtp.example.org."),
            "port": forms.IntegerField(label="Port", min_value=1, max_value=65535,
                                       help_text="Empty: 25, 587 or 465, as the security says."),
            "security": forms.ChoiceField(label="Security", initial="starttls", choices=[
                ("starttls", "STARTTLS (usually port 587)"), ("tls", "TLS from the start (usually port 465)"),
                ("none", "None (usually port 25)")]),
            "from_address": SenderAddressField(label="From address", max_length=320,
                                               help_text="tocsin@example.org or Tocsin <tocsin@example.org>."),
            "timeout": _timeout(),
            "verify_certificates": forms.BooleanField(label="Verify the relay's certificate", initial=True),
            "ca_file": forms.CharField(label="CA bundle file", max_length=500,
                                       help_text="An absolute path on the Tocsin server, for a private CA. "
                                                 "Empty: the system's CAs."),
        },
        Provider.TWILIO: {
            "base_url": HttpUrlField(label="API base URL", help_text=f"Empty: Twilio ({DEFAULT_BASE_URL})."),
            "from_number": TwilioSenderField(label="From number", max_length=20,
                                             help_text="+14155550100; voice calls need a number."),
            "messaging_service_sid": MessagingServiceField(
                label="Messaging service SID", max_length=34,
                help_text="SMS go through this service instead of the from number, when given."),
            "machine_detection": forms.ChoiceField(label="Answering machine detection", choices=[
                ("", "Off"), ("Enable", "Enable: tell people from machines"),
                ("DetectMessageEnd", "DetectMessageEnd: wait for the voicemail greeting to end")]),
            "timeout": _timeout(),
        },
        Provider.SMS_GATEWAY: {
            "url": _url("Where each SMS is sent, e.g. https://sms.example.org/api/send."),
            "method": forms.ChoiceField(label="Method", choices=[("POST", "POST"), ("GET", "GET")]),
            "content_type": forms.ChoiceField(label="Body format", choices=[
                ("json", "JSON"), ("form", "Form fields (application/x-www-form-urlencoded)")],
                help_text="A GET sends the template's fields as query parameters."),
            "body_template": JsonObjectField(
                label="Body template", rows=4, placeholder=json.dumps(DEFAULT_TEMPLATE), what="The body template",
                example='{"to": "{to}", "text": "{text}"}',
                help_text="A JSON object; {to}, {text}, {from} and {key} are replaced in its strings. "
                          f"Empty: {json.dumps(DEFAULT_TEMPLATE)}."),
            "from": forms.CharField(label="From", max_length=80, help_text="The value of {from} in the template."),
            "headers": HeaderLinesField(label="Headers", help_text="One 'Name: value' per line."),
            "success_statuses": StatusListField(label="Success statuses", max_length=200,
                                                help_text="Comma-separated, e.g. 200, 202. Empty: any 2xx."),
            "id_path": forms.CharField(label="Message id path", max_length=200,
                                       help_text="Where the answer's JSON holds the message id, e.g. messages.0.id."),
            "timeout": _timeout(),
        },
        # The target URLs below carry the receiver's token: write-only, stored with the secrets.
        Provider.SLACK: {URL_KEY: _url("The incoming webhook's URL; empty: each person's own chat URL.",
                                       widget=_write_only())},
        Provider.TEAMS: {URL_KEY: _url("The workflow's URL; empty: each person's own chat URL.", widget=_write_only())},
        Provider.WEBHOOK_KIND: {URL_KEY: _url("The receiver's URL; empty: each person's own webhook URL.",
                                              widget=_write_only())},
        Provider.APPRISE: {URL_KEY: AppriseUrlField(
            label="Apprise URL", max_length=2000, widget=_write_only(),
            help_text="e.g. tgram://bottoken/ChatID; empty: each person's own.")},
    }


# The settings a kind cannot work without. Twilio's rule depends on the channels: see _twilio_problems.
REQUIRED_SETTINGS = {Provider.SMTP: ("host", "from_address"), Provider.SMS_GATEWAY: ("url",)}
# What a provider assumes when a setting is absent: shown as such, and not stored when chosen.
SETTING_DEFAULTS = {"security": "none", "verify_certificates": True, "method": "POST", "content_type": "json",
                    "machine_detection": ""}
COMMON_SETTINGS = ("allow_private_addresses",)


def setting_field_name(kind, key):
    return f"{kind}_{key}"


def _shown(value):
    """A stored setting as its form field shows it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def settings_initial(kind, stored):
    """Initial form values from a provider's stored settings: its kind's fields, and the keys no
    field covers as the advanced JSON."""
    stored = dict(stored or {})
    own = kind_fields().get(kind, {})
    initial = {}
    for key, field in own.items():
        if kind in URL_KINDS and key == URL_KEY:
            stored.pop(key, None)  # a credential: never shown back, not even in the JSON
            continue
        if key not in stored:
            if key in SETTING_DEFAULTS:
                initial[setting_field_name(kind, key)] = SETTING_DEFAULTS[key]
            continue
        value = stored.pop(key)
        if key == "method" and isinstance(value, str):
            value = value.upper()  # the gateway provider reads it in any case
        if isinstance(field, HeaderLinesField) and isinstance(value, dict):
            value = "\n".join(f"{name}: {text}" for name, text in value.items())
        elif isinstance(field, StatusListField) and isinstance(value, list):
            value = ", ".join(str(status) for status in value)
        elif isinstance(field, JsonObjectField) or isinstance(value, (dict, list)):
            value = json.dumps(value, indent=2)
        initial[setting_field_name(kind, key)] = _shown(value)
    for key in COMMON_SETTINGS:
        if key in stored:
            initial[key] = bool(stored.pop(key))
    initial["extra_settings"] = json.dumps(stored, indent=2, sort_keys=True) if stored else ""
    return initial


def json_object(text, what="Settings", example='{"host": "smtp.example.org"}'):
    """`text` as a JSON object, or a ValidationError saying where it is wrong."""
    text = (text or "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(f"Not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}.") from None
    if not isinstance(value, dict):
        raise forms.ValidationError(f"{what} must be a JSON object, e.g. {example}.")
    return value


BASE_FIELDS = ("name", "kind", "channels", "priority", "enabled", "rate_per_minute", "max_concurrent")


class ProviderForm(forms.Form):
    name = forms.CharField(max_length=80)
    kind = forms.ChoiceField(choices=Provider.KINDS)
    channels = forms.MultipleChoiceField(choices=CHANNELS, widget=forms.CheckboxSelectMultiple,
                                         help_text="The channels it carries; the kind decides which it can.")
    priority = forms.IntegerField(min_value=0, max_value=1000, initial=10, help_text="Lower is tried first.")
    enabled = forms.BooleanField(required=False, initial=True)
    rate_per_minute = forms.IntegerField(min_value=0, max_value=1_000_000, initial=0, help_text="0: no limit")
    max_concurrent = forms.IntegerField(min_value=0, max_value=10_000, initial=0, help_text="0: no limit")
    allow_private_addresses = forms.BooleanField(
        required=False, label="Allow private addresses",
        help_text="Let it reach hosts on private networks (an internal gateway or relay). Off: public hosts only.")
    extra_settings = JsonObjectField(
        required=False, rows=4, label="Other settings (JSON, advanced)",
        help_text="Any further settings as a JSON object; the fields above cover the usual ones.")
    clear_secrets = forms.BooleanField(required=False, label="Forget the stored credentials",
                                       help_text="A chat or webhook provider's stored URL is one of them.")

    def __init__(self, *args, stored_secrets=False, stored_url="", stored_kind="", **kwargs):
        super().__init__(*args, **kwargs)
        self.stored_secrets = stored_secrets
        self.kinds = {}  # kind -> {setting key: form field name}
        for kind, fields in kind_fields().items():
            self.kinds[kind] = {}
            for key, field in fields.items():
                field.required = False  # "required for this kind" is checked in clean()
                name = setting_field_name(kind, key)
                self.fields[name] = field
                self.kinds[kind][key] = name
        if stored_url:
            # Whichever URL kind is chosen, an empty URL field keeps the stored URL.
            hint = url_hint(stored_kind, stored_url)
            for kind in URL_KINDS:
                self.fields[setting_field_name(kind, URL_KEY)].help_text = f"Stored: {hint} {KEEP}"
        for key, label in SECRET_FIELDS:
            self.fields[f"secret_{key}"] = forms.CharField(
                label=label, required=False, max_length=2000, strip=False,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                help_text=KEEP if stored_secrets else "")
        if not stored_secrets:
            del self.fields["clear_secrets"]

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        for other, names in self.kinds.items():
            if other != kind:
                for name in names.values():
                    self.errors.pop(name, None)  # another kind's field: ignored, whatever it holds
        wanted = SECRET_KEYS.get(kind, ())
        for key, _ in SECRET_FIELDS:
            if data.get(f"secret_{key}") and key not in wanted:
                self.add_error(f"secret_{key}", f"A {kind} provider does not use this; leave it empty.")
        if kind in self.kinds:
            data["settings"] = self._settings(kind, data)
        return data

    def _settings(self, kind, data):
        """The settings dict of `kind`: the advanced JSON, then the kind's fields over it."""
        settings = dict(data.get("extra_settings") or {})
        own = self.kinds[kind]
        for key in sorted(set(settings) & (set(own) | set(COMMON_SETTINGS))):
            label = self.fields[own[key]].label if key in own else self.fields[key].label
            self.add_error("extra_settings", f"'{key}' has its own field ({label}); set it there, not in the JSON.")
        for key, name in own.items():
            if name in self.errors or (kind in URL_KINDS and key == URL_KEY):
                continue
            value = data.get(name)
            if value in (None, "", [], {}) or SETTING_DEFAULTS.get(key, object()) == value:
                continue
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            settings[key] = value
        if data.get("allow_private_addresses"):
            settings["allow_private_addresses"] = True
        for key in REQUIRED_SETTINGS.get(kind, ()):
            if key not in settings and own[key] not in self.errors:
                self.add_error(own[key], f"Required for {dict(Provider.KINDS)[kind]} providers.")
        if kind == Provider.TWILIO:
            self._twilio_problems(settings, data.get("channels") or [])
        if kind == Provider.SMS_GATEWAY:
            self._gateway_problems(settings)
        return settings

    def _twilio_problems(self, settings, channels):
        sender = settings.get("from_number", "")
        if "voice" in channels and not _E164.match(sender) and "twilio_from_number" not in self.errors:
            self.add_error("twilio_from_number", "Voice calls need a from number in E.164 form (+14155550100)."
                           if sender else "Required for voice calls: the number calls come from.")
        if "sms" in channels and not sender and not settings.get("messaging_service_sid") \
                and "twilio_from_number" not in self.errors:
            self.add_error("twilio_from_number", "SMS need a from number or a messaging service SID.")

    def _gateway_problems(self, settings):
        template = settings.get("body_template", DEFAULT_TEMPLATE)
        if "sms_gateway_body_template" in self.errors:
            return
        try:
            fill(template, dict.fromkeys(PLACEHOLDERS, ""))
        except TemplateError as exc:
            self.add_error("sms_gateway_body_template", str(exc).removeprefix("settings.body_template: "))
            return
        flat = settings.get("content_type") == "form" or settings.get("method") == "GET"
        if flat and not all(isinstance(value, str) for value in template.values()):
            self.add_error("sms_gateway_body_template", "Form fields and query parameters are text: every value "
                                                        "of the template must be a string.")

    def secret_fields(self):
        return [self[f"secret_{key}"] for key, _ in SECRET_FIELDS]

    def secret_rows(self):
        """The credential fields with the kinds that use each (the page hides the others)."""
        return [{"field": self[f"secret_{key}"],
                 "kinds": " ".join(kind for kind, keys in SECRET_KEYS.items() if key in keys)}
                for key, _ in SECRET_FIELDS]

    def plain_fields(self):
        return [self[name] for name in BASE_FIELDS]

    def kind_groups(self):
        """One group of fields per kind, for a fieldset each."""
        labels = dict(Provider.KINDS)
        return [{"kind": kind, "label": labels[kind],
                 "required": {names[key] for key in REQUIRED_SETTINGS.get(kind, ())},
                 "fields": [self[name] for name in names.values()]} for kind, names in self.kinds.items()]

    def common_setting_fields(self):
        return [self["allow_private_addresses"], self["extra_settings"]]

    def values(self):
        data = self.cleaned_data
        return {name: data[name] for name in ("name", "kind", "channels", "priority", "enabled", "rate_per_minute",
                                              "max_concurrent", "settings")}

    def secrets(self, stored):
        """The secrets to save (None: keep the stored ones as they are). An empty field keeps
        its stored value; "forget" keeps only what was typed now (the target URL included)."""
        data = self.cleaned_data
        given = {key: data[f"secret_{key}"] for key, _ in SECRET_FIELDS if data.get(f"secret_{key}")}
        kind = data.get("kind")
        if kind in URL_KINDS and data.get(setting_field_name(kind, URL_KEY)):
            given[URL_KEY] = data[setting_field_name(kind, URL_KEY)]
        if data.get("clear_secrets"):
            # The provider service keeps a URL that new secrets do not name: forgetting it is said.
            return {URL_KEY: "", **given} if kind in URL_KINDS else given
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
