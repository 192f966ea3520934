"""Shift swaps in the browser: offering one's shift from the grid, and answering offers."""

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from tocsin.core.form_errors import apply_errors
from tocsin.core.timezones import zone
from tocsin.core.view_access import actor, permission_required, principal, require_for_team
from tocsin.directory.models import Person

from . import selectors, services, swap_rules
from .forms import SwapForm, person_label
from .models import ShiftSwap
from .views import prefill, schedule_or_404
from .views_overrides import suggested_people, week_of
from .wallclock import local, to_utc

RETURN_WINDOW = timedelta(days=28)
ACTIONS = {"accept": services.accept_swap, "decline": services.decline_swap, "cancel": services.cancel_swap}


def _return_choices(schedule, tz, requester=None):
    """Final shifts of the next four weeks, from local midnight so the choices stay the same
    between showing the form and posting it."""
    start = to_utc(datetime.combine(local(timezone.now(), tz).date(), time()), tz)
    found, _ = selectors.final_shifts(schedule, start, start + RETURN_WINDOW)
    return [(f"{e.start.isoformat()}/{e.end.isoformat()}",
             f"{e.person.name} · {local(e.start, tz):%a %d %b %H:%M} – {local(e.end, tz):%a %d %b %H:%M}")
            for e in found if requester is None or e.person.pk != requester.pk]


def _prefill(request, tz):
    """The shift the grid link names, offered by its person or else by the signed-in user's."""
    person, initial = prefill(request, tz)
    person = person or Person.objects.filter(user_id=request.user.pk, is_active=True).first()
    if person is not None:
        initial["requester"] = person_label(person)
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
            require_for_team(request, "oncall:manage", schedule.team)  # only managers offer someone else's shift
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


def _allowed(who, swap):
    return [action for action in swap_rules.ACTIONS if swap_rules.may_answer(who, swap, action)]


@permission_required("oncall:read")
def swap_list(request):
    pending = list(ShiftSwap.objects.filter(status=ShiftSwap.PENDING)
                   .select_related("schedule", "requester", "counterpart", "requested_by").order_by("starts_at", "pk"))
    recent = (ShiftSwap.objects.exclude(status=ShiftSwap.PENDING)
              .select_related("schedule", "requester", "counterpart", "decided_by").order_by("-decided_at", "-pk")[:20])
    who = principal(request)
    rows = [{"swap": swap, "actions": _allowed(who, swap), "tz": zone(swap.schedule.time_zone)} for swap in pending]
    return render(request, "oncall/swaps.html", {"rows": rows, "recent": recent})


@require_POST
@permission_required("oncall:read")
def swap_decide(request, swap_id, action):
    swap = get_object_or_404(ShiftSwap.objects.select_related("schedule__team", "requester", "counterpart"),
                             pk=swap_id)
    if action not in ACTIONS:
        raise Http404(f"No swap action '{action[:20]}'.")
    if not swap_rules.may_answer(principal(request), swap, action):
        require_for_team(request, "oncall:manage", swap.schedule.team)  # the audited 403
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
