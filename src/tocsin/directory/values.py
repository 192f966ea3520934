"""Contact values: validation and normalisation per kind, and masking for display."""

from urllib.parse import urlsplit

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from tocsin.core.crypto import blind_index

PHONE_KINDS = {"sms", "voice", "satellite"}
EMAIL_KINDS = {"email", "alt_email"}


def normalise(kind, raw, field="value"):
    """Return the canonical form of a contact value, or raise ValidationError naming `field`."""
    value = (raw or "").strip()
    if not value:
        raise ValidationError({field: "A value is required."})
    if "\x00" in value or len(value) > 500:
        raise ValidationError({field: "The value is not valid text of at most 500 characters."})
    if kind in PHONE_KINDS:
        return _phone(value, field)
    if kind in EMAIL_KINDS:
        try:
            validate_email(value)
        except ValidationError:
            raise ValidationError({field: f"'{value}' is not a valid e-mail address."}) from None
        local, _, domain = value.rpartition("@")
        return f"{local}@{domain.lower()}"
    if kind == "webhook":
        parts = urlsplit(value)
        if parts.scheme not in {"https", "http"} or not parts.netloc:
            raise ValidationError({field: "A webhook must be an http(s) URL."})
        return value
    return value


def _phone(value, field):
    region = getattr(settings, "TOCSIN_DEFAULT_PHONE_REGION", None) or None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            {field: f"'{value}' is not a phone number; use the international form, such as +49 30 1234567."}
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError({field: f"'{value}' is not a valid phone number."})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def index_for(kind, value):
    """Blind index of a normalised value; phones and e-mails share one space so replies match."""
    family = "phone" if kind in PHONE_KINDS else "email" if kind in EMAIL_KINDS else kind
    return blind_index(value.lower() if family == "email" else value, f"contact:{family}")


def mask(kind, value):
    """Enough to recognise a value, not enough to use it: '+49 *** *** 42', 'a***@example.org'."""
    if not value:
        return ""
    if kind in PHONE_KINDS:
        try:
            number = phonenumbers.parse(value, None)
            return f"+{number.country_code} *** *** {str(number.national_number)[-2:]}"
        except phonenumbers.NumberParseException:
            return "***"
    if kind in EMAIL_KINDS and "@" in value:
        local, _, domain = value.rpartition("@")
        return f"{local[:1]}***@{domain}"
    return value[:2] + "***" if len(value) > 4 else "***"
