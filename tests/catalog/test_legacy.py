"""Legacy exceptions: documented with a reason and review date, approved by a second person."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tocsin.catalog import services
from tocsin.catalog.models import LegacyException
from tocsin.catalog.selectors import overdue_reviews
from tocsin.core.config_checks import run_all
from tocsin.core.permissions import PermissionDeniedError, Principal

from .conftest import SYSTEM


@pytest.fixture
def pbx(make_service):
    return make_service("telephony", team="network")


def _request(service, user, days=30, **fields):
    return services.request_exception(
        service, actor=SYSTEM, requested_by=user, summary="Vendor answers within 4 h only",
        reason="No 24/7 contract", review_on=timezone.localdate() + timedelta(days=days), ack_minutes="4h", **fields,
    )


def test_four_eyes_approval(pbx, make_user):
    admin, other_admin = make_user("root", roles=["admin"]), make_user("root2", roles=["admin"])
    responder = make_user("resp", roles=["responder"], teams=["network"])
    exception = _request(pbx, admin)
    assert exception.ack_minutes == 240 and exception.status == LegacyException.PENDING
    with pytest.raises(ValidationError, match="Four eyes"):
        services.approve_exception(exception, principal=Principal.load(admin), actor=SYSTEM)
    with pytest.raises(PermissionDeniedError):
        services.approve_exception(exception, principal=Principal.load(responder), actor=SYSTEM)
    services.approve_exception(exception, principal=Principal.load(other_admin), actor=SYSTEM)
    exception.refresh_from_db()
    assert (exception.status, exception.approved_by, exception.requested_by) == ("approved", other_admin, admin)
    with pytest.raises(ValidationError, match="approved already"):
        services.approve_exception(exception, principal=Principal.load(other_admin), actor=SYSTEM)


def test_the_review_date_must_lie_ahead(pbx, make_user):
    with pytest.raises(ValidationError, match="future"):
        _request(pbx, make_user(), days=0)
    assert not LegacyException.objects.exists()


def test_overdue_reviews_are_listed_and_reported_by_tocsin_check(pbx, make_user):
    requester, approver = make_user("req"), make_user("root", roles=["admin"])
    late, fine, pending = _request(pbx, requester), _request(pbx, requester, days=90), _request(pbx, requester)
    for exception in (late, fine):
        services.approve_exception(exception, principal=Principal.load(approver), actor=SYSTEM)
    LegacyException.objects.filter(pk__in=[late.pk, pending.pk]).update(review_on=timezone.localdate() - timedelta(days=3))
    assert list(overdue_reviews(timezone.localdate())) == [late]  # a pending one is not yet in force
    messages = [f.message for f in run_all() if f.level == "warning" and f.message.startswith("catalog:")]
    assert any("1 legacy exception(s) overdue for review" in m and "telephony" in m for m in messages)


def test_a_second_approval_from_a_stale_copy_is_refused(pbx, make_user):
    requester = make_user("req")
    first, second = make_user("root", roles=["admin"]), make_user("root2", roles=["admin"])
    exception = _request(pbx, requester)
    stale = LegacyException.objects.get(pk=exception.pk)  # read by a second approver before the first approved
    services.approve_exception(exception, principal=Principal.load(first), actor=SYSTEM)
    with pytest.raises(ValidationError, match="approved already"):
        services.approve_exception(stale, principal=Principal.load(second), actor=SYSTEM)
    from tocsin.core.models import AuditEntry

    assert AuditEntry.objects.filter(action="catalog.exception.approve").count() == 1
    assert LegacyException.objects.get(pk=exception.pk).approved_by == first
