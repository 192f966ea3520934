"""The form of one message template: subject (channels that have one), body, and the SMS budget."""

from django import forms

from . import rendering
from .models import SMS


class MessageTemplateForm(forms.Form):
    subject = forms.CharField(
        required=False, max_length=rendering.SUBJECT_LIMIT,
        help_text="Leave empty to keep the built-in subject.")
    body = forms.CharField(
        required=False, strip=False, max_length=rendering.BODY_LIMIT,
        widget=forms.Textarea(attrs={"rows": 14, "cols": 90, "spellcheck": "false", "class": "mono"}),
        help_text="Jinja2: {{ incident.title }}, {% if … %} … {% endif %}. Values are escaped in the e-mail's HTML.")
    sms_segments = forms.TypedChoiceField(
        label="SMS segments", choices=[(n, f"At most {n}") for n in rendering.SMS_SEGMENT_CHOICES], coerce=int,
        initial=rendering.DEFAULT_SMS_SEGMENTS,
        help_text="One segment holds 160 GSM characters, or 70 when the text needs Unicode.")

    def __init__(self, channel, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if channel != SMS:
            del self.fields["sms_segments"]
        if channel not in rendering.HAS_SUBJECT:
            del self.fields["subject"]

    def values(self):
        """The service's keyword arguments, with the defaults of the fields this channel lacks."""
        data = self.cleaned_data
        return {"subject": data.get("subject", ""), "body": data.get("body", ""),
                "sms_segments": data.get("sms_segments") or rendering.DEFAULT_SMS_SEGMENTS}
