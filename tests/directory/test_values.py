"""B2: contact values are normalised (E.164, e-mail) and masked for display."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from tocsin.directory import availability, values


@pytest.mark.parametrize(
    "kind, raw, expected",
    [
        ("sms", "+49 (30) 123-4567", "+49301234567"),
        ("voice", "+1 415 555 2671", "+14155552671"),
        ("email", "Ana.Silva@Example.ORG", "Ana.Silva@example.org"),
        ("chat", "@ana", "@ana"),
        ("webhook", "https://hooks.example.org/x", "https://hooks.example.org/x"),
    ],
)
def test_normalise(kind, raw, expected):
    assert values.normalise(kind, raw) == expected


@pytest.mark.parametrize(
    "kind, raw, message",
    [
        ("sms", "12345", "phone number"),
        ("sms", "+49 30", "not a valid phone number"),
        ("email", "ana@", "not a valid e-mail"),
        ("webhook", "ftp://x", "http(s)"),
        ("sms", "", "required"),
    ],
)
def test_invalid_values_name_the_field(kind, raw, message):
    with pytest.raises(ValidationError) as error:
        values.normalise(kind, raw)
    assert "value" in error.value.message_dict
    assert message in error.value.message_dict["value"][0]


def test_masks():
    assert values.mask("sms", "+491701234542") == "+49 *** *** 42"
    assert values.mask("email", "ana@example.org") == "a***@example.org"


def test_equal_numbers_share_an_index_across_phone_kinds():
    assert values.index_for("sms", "+491701234542") == values.index_for("voice", "+491701234542")
    assert values.index_for("email", "Ana@example.org") == values.index_for("alt_email", "ana@example.org")


BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    "spec, local, expected",
    [
        ("24/7", datetime(2026, 3, 29, 3, 0), True),
        ("Mon-Fri 08:00-18:00 Europe/Berlin", datetime(2026, 11, 23, 8, 0), True),  # Monday
        ("Mon-Fri 08:00-18:00 Europe/Berlin", datetime(2026, 11, 23, 18, 0), False),
        ("Mon-Fri 08:00-18:00 Europe/Berlin", datetime(2026, 11, 22, 12, 0), False),  # Sunday
        ("Fri-Mon 22:00-06:00 Europe/Berlin", datetime(2026, 11, 24, 5, 59), True),  # Tue early: Mon night
        ("Fri-Mon 22:00-06:00 Europe/Berlin", datetime(2026, 11, 25, 5, 0), False),  # Wed early
        ("Sat,Sun 00:00-24:00 Europe/Berlin", datetime(2026, 11, 22, 23, 59), True),
    ],
)
def test_availability_windows(spec, local, expected):
    assert availability.is_available(spec, local.replace(tzinfo=BERLIN)) is expected


@pytest.mark.parametrize("spec", ["weekdays", "Mon-Fri 8-18", "Mon-Fri 08:00-18:00 Mars/Olympus", "Xyz 08-18 UTC"])
def test_bad_availability_is_named(spec):
    with pytest.raises(ValidationError) as error:
        availability.parse(spec)
    assert "availability" in error.value.message_dict
