"""Shift swap use cases: offer a shift (optionally for one in return), and accept, decline or cancel the offer."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tocsin.core import audit
from tocsin.core.history import user_of

from .. import signals
from ..models import Schedule, ShiftSwap
from ..selectors import shifts
from .overrides import add_override, check_interval
from .schedules import save_stamped


def _on_call_during(schedule, person, starts_at, ends_at):
    """Whether `person` holds a shift of their own (not as someone's delegate) in [starts_at, ends_at)."""
    found, _ = shifts(schedule, starts_at, ends_at)
    return any(s.assignment.person_id == person.pk and s.assignment.delegated_from is None for s in found)


def request_swap(schedule, *, actor, requester, counterpart, starts_at, ends_at, return_starts_at=None,
                 return_ends_at=None, note="", source="ui"):
    """`requester` offers their shift [starts_at, ends_at) to `counterpart` (and, for a true
    swap, asks for the counterpart's shift in return). Nothing changes until it is accepted."""
    check_interval(starts_at, ends_at)
    if requester.pk == counterpart.pk:
        raise ValidationError({"counterpart": "A swap needs two different people."})
    if not counterpart.is_active:
        raise ValidationError({"counterpart": f"{counterpart.name} is deactivated."})
    if (return_starts_at is None) != (return_ends_at is None):
        raise ValidationError({"return_ends_at": "Give both the start and the end of the shift taken in return."})
    if return_starts_at is not None:
        check_interval(return_starts_at, return_ends_at, prefix="return_")
        if not _on_call_during(schedule, counterpart, return_starts_at, return_ends_at):
            raise ValidationError({"return_starts_at": f"{counterpart.name} is not on call then."})
    if not _on_call_during(schedule, requester, starts_at, ends_at):
        raise ValidationError({"starts_at": f"{requester.name} is not on call between those times."})
    swap = ShiftSwap(schedule=schedule, requester=requester, counterpart=counterpart, starts_at=starts_at,
                     ends_at=ends_at, return_starts_at=return_starts_at, return_ends_at=return_ends_at,
                     note=(note or "")[:200], requested_by=user_of(actor))
    with transaction.atomic():
        save_stamped(swap, actor, source)
        audit.record(actor, "oncall.swap.requested", schedule,
                     summary={"swap": swap.pk, "requester": requester.pk, "counterpart": counterpart.pk,
                              "starts_at": starts_at, "ends_at": ends_at})
    transaction.on_commit(lambda: signals.swap_requested.send(Schedule, swap=swap))
    return swap


def _check_still_held(swap):
    """The schedule may have changed since the offer (an override, another swap accepted, a
    rotation edited): each side must still hold the shift it gives, or the swap would hand
    over a shift its giver no longer has."""
    if not _on_call_during(swap.schedule, swap.requester, swap.starts_at, swap.ends_at):
        raise ValidationError({"starts_at": f"{swap.requester.name} is no longer on call then; "
                                            "the swap cannot take effect."})
    if swap.return_starts_at is not None and not _on_call_during(
            swap.schedule, swap.counterpart, swap.return_starts_at, swap.return_ends_at):
        raise ValidationError({"return_starts_at": f"{swap.counterpart.name} is no longer on call then; "
                                                   "the swap cannot take effect."})


def _decide(swap, status, actor, source):
    with transaction.atomic():
        locked = (ShiftSwap.objects.select_for_update().select_related("schedule", "requester", "counterpart")
                  .get(pk=swap.pk))
        if locked.status != ShiftSwap.PENDING:
            raise ValidationError({"status": f"This swap is already {locked.get_status_display().lower()}."})
        if status == ShiftSwap.ACCEPTED:
            _check_still_held(locked)  # inside the lock, so two swaps of one shift cannot both take effect
        locked.status = status
        locked.decided_by = user_of(actor)
        locked.decided_at = timezone.now()
        save_stamped(locked, actor, source)
        if status == ShiftSwap.ACCEPTED:
            add_override(locked.schedule, actor=actor, person=locked.counterpart, replaces=locked.requester,
                         starts_at=locked.starts_at, ends_at=locked.ends_at, reason="Shift swap",
                         source=source, swap=locked)
            if locked.return_starts_at is not None:
                add_override(locked.schedule, actor=actor, person=locked.requester, replaces=locked.counterpart,
                             starts_at=locked.return_starts_at, ends_at=locked.return_ends_at,
                             reason="Shift swap", source=source, swap=locked)
        audit.record(actor, f"oncall.swap.{status}", locked.schedule, summary={"swap": locked.pk})
    return locked


def accept_swap(swap, *, actor, source="ui"):
    """The counterpart takes the shift; it is recorded as overrides that cite the swap."""
    return _decide(swap, ShiftSwap.ACCEPTED, actor, source)


def decline_swap(swap, *, actor, source="ui"):
    return _decide(swap, ShiftSwap.DECLINED, actor, source)


def cancel_swap(swap, *, actor, source="ui"):
    return _decide(swap, ShiftSwap.CANCELLED, actor, source)
