"""Durations from users: only ASCII digits count, every odd input is a precise 4xx, never a 500."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tocsin.catalog.durations import parse_minutes
from tocsin.catalog.models import LegacyException, Service

JSON = "application/json"
HUGE = "9" * 5000  # beyond Python's integer-parsing limit of 4,300 digits


@pytest.mark.parametrize("text", ["²", "٣", "1²h", HUGE, HUGE + "m", "1" + "0" * 9 + "m", "1m" * 30, 10**5000, 2.5],
                         ids=lambda value: repr(value)[:12] if not isinstance(value, int) else "big-int")
def test_odd_durations_are_refused_naming_the_field(text):
    with pytest.raises(ValidationError) as refused:
        parse_minutes(text, "rto")
    assert list(refused.value.message_dict) == ["rto"]


@pytest.fixture
def admin(make_user, bearer, teams):
    return bearer(make_user("root", roles=["admin"]))


@pytest.fixture
def payments(make_service):
    return make_service("payments", rto="1h", mtpd="4h")


@pytest.mark.parametrize("rto", ["²", "9" * 40, 10**30])
def test_the_bia_api_answers_400_naming_the_field(admin, payments, rto):
    response = admin.put(f"/api/v1/services/{payments.pk}/bia", {"rto": rto, "mtpd": "4h"}, content_type=JSON)
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["rto"]
    assert Service.objects.get(pk=payments.pk).rto_minutes == 60


def test_the_api_refuses_overlong_duration_text_before_parsing(admin, payments):
    response = admin.put(f"/api/v1/services/{payments.pk}/bia", {"rto": HUGE}, content_type=JSON)
    assert response.status_code == 422 and "rto" in response.content.decode()
    assert Service.objects.get(pk=payments.pk).rto_minutes == 60


def test_legacy_exception_minutes_over_the_api(admin, payments):
    payload = {"service_id": payments.pk, "summary": "Vendor", "reason": "Contract", "ack_minutes": "²",
               "review_on": (timezone.localdate() + timedelta(days=30)).isoformat()}
    response = admin.post("/api/v1/legacy-exceptions", payload, content_type=JSON)
    assert response.status_code == 400 and list(response.json()["errors"]) == ["ack_minutes"]
    assert not LegacyException.objects.exists()


def _bia_form(**fields):
    form = {"rto": "", "rpo": "", "mtpd": "", "data_sensitivity": "internal", **fields}
    form.update({f"impact_{c}_{h}": "0" for c in ("financial", "operational", "legal-regulatory", "reputational")
                 for h in ("1h", "4h", "24h", "72h")})
    return form


@pytest.mark.parametrize("mtpd", ["²", "9" * 39])
def test_the_bia_form_shows_the_error(login, make_user, payments, mtpd):
    client = login(make_user("root", roles=["admin"]))
    response = client.post(f"/catalog/services/{payments.pk}/bia/", _bia_form(rto="1h", mtpd=mtpd))
    assert response.status_code == 400
    assert "is not a duration" in response.content.decode() or "A duration between" in response.content.decode()
    assert Service.objects.get(pk=payments.pk).mtpd_minutes == 240


def test_the_exception_form_and_the_personnel_page_refuse_odd_digits(login, make_user, make_service):
    client = login(make_user("root", roles=["admin"]))
    service = make_service("telephony")
    form = {"service": service.pk, "summary": "Vendor", "reason": "Contract", "escalate_after_minutes": "²",
            "review_on": (timezone.localdate() + timedelta(days=10)).isoformat()}
    assert client.post("/catalog/exceptions/request/", form).status_code == 400
    assert not LegacyException.objects.exists()
    page = client.get("/catalog/critical-personnel/", {"rto": "²"})
    assert page.status_code == 400 and "is not a duration" in page.content.decode()
