"""catalog JSON API for legacy exceptions: list (optionally only overdue reviews), request, approve."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Router, Status
from ninja.pagination import paginate

from tocsin.core.api_auth import check
from tocsin.core.schemas import ObjectId
from tocsin.core.view_access import actor, principal

from . import selectors, services
from .api_common import SOURCE, service_or_404
from .schemas import ExceptionIn, ExceptionOut

router = Router(tags=["catalog"])


@router.get("/legacy-exceptions", response=list[ExceptionOut],
            summary="Exceptions to the standard escalation timelines; overdue=true for overdue reviews only")
@paginate
def list_exceptions(request, overdue: bool = False):
    check(request, "catalog:read")
    if overdue:
        return selectors.overdue_reviews(timezone.localdate())
    return selectors.exceptions().order_by("review_on", "pk")


@router.post("/legacy-exceptions", response={201: ExceptionOut}, summary="Request an exception with reason and review date")
def request_exception(request, payload: ExceptionIn):
    service = service_or_404(payload.service_id)
    check(request, "catalog:manage", service.owner_team, target=f"catalog.service:{service.pk}")
    exception = services.request_exception(
        service, actor=actor(request), requested_by=principal(request).user, source=SOURCE,
        **payload.dict(exclude={"service_id"}),
    )
    return Status(201, selectors.exceptions().get(pk=exception.pk))


@router.post("/legacy-exceptions/{exception_id}/approve", response=ExceptionOut,
             summary="Approve (catalog:approve, and not the requester)")
def approve_exception(request, exception_id: ObjectId):
    exception = get_object_or_404(selectors.exceptions(), pk=exception_id)
    services.approve_exception(exception, principal=principal(request), actor=actor(request), source=SOURCE)
    return exception
