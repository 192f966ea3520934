"""Contact verification JSON API: send a code to a person's method, and confirm it (the person,
or whoever may change their contact details)."""

from datetime import datetime

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Router, Schema, Status

from tocsin.core.permissions import require
from tocsin.core.schemas import ObjectId
from tocsin.core.view_access import actor
from tocsin.directory.models import ContactMethod
from tocsin.directory.values import mask
from tocsin.directory.visibility import can_edit_person

from . import verification
from .schemas import StorableIn

router = Router(tags=["notifications"])


class StartOut(Schema):
    method: int
    channel: str
    destination: str
    expires_at: datetime


class ConfirmIn(StorableIn):
    code: str


class ConfirmOut(Schema):
    method: int
    verified: bool
    verified_at: datetime | None
    destination: str


class Problem(Schema):
    detail: str


def _method(request, method_id):
    method = get_object_or_404(ContactMethod.objects.select_related("person"), pk=method_id, person__isnull=False)
    principal = request.principal
    own = principal.user is not None and method.person.user_id == principal.user.pk
    if not own and not can_edit_person(principal, method.person):
        require(principal, "contacts:write", target=request.path[:200])  # raises, and audits the refusal
    return method


@router.post("/contact-methods/{method_id}/verification",
             response={202: StartOut, 429: Problem, 502: Problem},
             summary="Send a verification code through the method itself (at most 3 an hour)")
def start(request, method_id: ObjectId, response: HttpResponse):
    method = _method(request, method_id)
    try:
        sent = verification.start_verification(method, actor=actor(request), now=timezone.now())
    except verification.TooManyStarts as exc:
        response["Retry-After"] = str(exc.retry_after)
        return Status(429, {"detail": str(exc)})
    except verification.NotSent as exc:
        return Status(502, {"detail": str(exc)})
    return Status(202, {"method": method.pk, "channel": sent.channel, "destination": sent.destination,
                        "expires_at": sent.verification.expires_at})


@router.post("/contact-methods/{method_id}/verification/confirm",
             response={200: ConfirmOut, 400: Problem, 404: Problem, 410: Problem},
             summary="Confirm the code last sent to the method; 5 wrong codes end it")
def confirm(request, method_id: ObjectId, payload: ConfirmIn):
    method = _method(request, method_id)
    try:
        verification.confirm_code(method, payload.code, actor=actor(request), now=timezone.now(), source="api")
    except verification.VerificationRefused as exc:
        return Status(exc.status, {"detail": exc.reason})
    return {"method": method.pk, "verified": method.verified, "verified_at": method.verified_at,
            "destination": mask(method.kind, method.value)}
