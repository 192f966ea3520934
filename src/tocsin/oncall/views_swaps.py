"""Shift swaps in the browser: offering one's shift from the grid, and answering offers."""

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from tocsin.core.form_errors import apply_errors
from tocsin.core.permissions import can
from tocsin.core.view_access import permission_required, principal
from tocsin.directory.models import Person
from tocsin.core.timezones import zone

from . import selectors, services
from .forms import SwapForm, local_input, person_label
from .models import ShiftSwap
from .views import actor, instant_param, require_manage, schedule_or_404
from .views_overrides import suggested_people, week_of
from .wallclock import local, to_utc

RETURN_WINDOW = timedelta(days=28)
ACTIONS = {"accept": services.accept_swap, "decline": services.decline_swap, "cancel": services.cancel_swap}


def _manages(request, schedule):
    return can(principal(request), "oncall:manage", schedule.team_id)


def _return_choices(schedule, tz, requester=None):
    """Final shifts of the next four weeks, from local midnight so the choices stay the same
    between showing the form and posting it."""
    start = to_utc(datetime.combine(local(timezone.now(), tz).date(), time()), tz)
    found, _ = selectors.final_shifts(schedule, start, start + RETURN_WINDOW)
    return [(f"{e.start.isoformat()}/{e.end.isoformat()}",
             f"{e.person.name} · {local(e.start, tz):%a %d %b %H:%M} – {local(e.end, tz):%a %d %b %H:%M}")
            for e in found if requester is None or e.person.pk != requester.pk]


def _prefill(request, tz):
    initial = {}
    raw = request.GET.get("person", "")
    person = Person.objects.filter(pk=int(raw), is_active=True).first() if raw.isdigit() else None
    person = person or Person.objects.filter(user_id=request.user.pk, is_active=True).first()
    if person is not None:
        initial["requester"] = person_label(person)
    start, end = instant_param(request, "start"), instant_param(request, "end")
    if start and end and end > start:
        initial.update(starts_at=local_input(start, tz), ends_at=local_input(end, tz))
    return initial, person


@permission_required("oncall:read")
def swap_offer(request, slug):
    schedule = schedule_or_404(slug)
    tz = zone(schedule.time_zone)
    initial, prefilled = _prefill(request, tz)
    form = SwapForm(request.POST or None, tz=tz, initial=initial,
                    return_choices=_return_choices(schedule, tz, None if request.POST else prefilled))
    if request.method == "POST" and form.is_valid():
        requester = form.cleaned_data["requester"]
        if requester.user_id != request.user.pk:
            require_manage(request, schedule.team)  # only managers offer someone else's shift
        data = {k: form.cleaned_data[k] for k in ("requester", "counterpart", "starts_at", "ends_at",
                                                  "return_starts_at", "return_ends_at", "note")}
        try:
            swap = services.request_swap(schedule, actor=actor(request), **data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"The swap is offered to {swap.counterpart.name}; it takes effect when "
                                      "they accept.")
            return redirect("oncall-swaps")
    context = {"schedule": schedule, "form": form, "people": suggested_people(schedule)}
    return render(request, "oncall/swap_form.html", context, status=400 if form.errors else 200)


def _allowed(request, swap, manager_of):
    """The answers this user may give: the counterpart accepts or declines, the requester
    cancels, and a manager of the schedule's team may do any of them."""
    manager = swap.schedule_id in manager_of
    mine = request.user.pk
    allowed = []
    if manager or swap.counterpart.user_id == mine:
        allowed += ["accept", "decline"]
    if manager or swap.requester.user_id == mine or swap.requested_by_id == mine:
        allowed.append("cancel")
    return allowed


@permission_required("oncall:read")
def swap_list(request):
    pending = list(ShiftSwap.objects.filter(status=ShiftSwap.PENDING)
                   .select_related("schedule", "requester", "counterpart", "requested_by").order_by("starts_at", "pk"))
    recent = (ShiftSwap.objects.exclude(status=ShiftSwap.PENDING)
              .select_related("schedule", "requester", "counterpart", "decided_by").order_by("-decided_at", "-pk")[:20])
    schedules = {swap.schedule_id: swap.schedule for swap in pending}
    manager_of = {sid for sid, schedule in schedules.items() if _manages(request, schedule)}
    rows = []
    for swap in pending:
        tz = zone(swap.schedule.time_zone)
        rows.append({"swap": swap, "actions": _allowed(request, swap, manager_of), "tz": tz})
    return render(request, "oncall/swaps.html", {"rows": rows, "recent": recent})


@require_POST
@permission_required("oncall:read")
def swap_decide(request, swap_id, action):
    swap = get_object_or_404(ShiftSwap.objects.select_related("schedule__team", "requester", "counterpart"),
                             pk=swap_id)
    if action not in ACTIONS:
        raise Http404(f"No swap action '{action[:20]}'.")
    manager_of = {swap.schedule_id} if _manages(request, swap.schedule) else set()
    if action not in _allowed(request, swap, manager_of):
        require_manage(request, swap.schedule.team)
    try:
        ACTIONS[action](swap, actor=actor(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("oncall-swaps")
    if action == "accept":
        messages.success(request, f"Accepted: {swap.counterpart.name} takes the shift from {swap.requester.name}.")
        return redirect(week_of(swap.schedule, swap.starts_at))
    messages.success(request, f"The swap is {'declined' if action == 'decline' else 'cancelled'}.")
    return redirect("oncall-swaps")
