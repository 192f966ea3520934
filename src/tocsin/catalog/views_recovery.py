"""Recovery pages: the order to restore chosen services, with its picture, and critical personnel."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils import timezone

from tocsin.core.view_access import permission_required

from .durations import parse_minutes
from .forms import PersonnelForm
from .models import Service
from .personnel import critical_personnel
from .picture import layout
from .recovery import recovery_order


def _chosen_ids(request):
    """The ticked services; anything that is not an id is ignored rather than failing the page."""
    return {int(value) for value in request.GET.getlist("down") if value.isdecimal() and len(value) < 19}


@permission_required("catalog:read")
def recovery(request):
    chosen = _chosen_ids(request)
    catalogue = list(Service.objects.only("name", "kind", "tier", "rto_minutes").order_by("name"))
    steps = recovery_order([s for s in catalogue if s.pk in chosen]) if chosen else []
    context = {
        "catalogue": catalogue,
        "chosen": chosen,
        "steps": steps,
        "picture": layout(steps) if steps else None,
    }
    return render(request, "catalog/recovery.html", context)


@permission_required("catalog:read")
def personnel(request):
    form = PersonnelForm(request.GET or None)
    rows, limit, status = [], None, 200
    if form.is_valid():
        try:
            limit = parse_minutes(form.cleaned_data["rto"], "rto")
            if limit is None:
                raise ValidationError({"rto": "Give the longest RTO to include, such as 4h."})
        except ValidationError as exc:
            form.add_error("rto", exc.error_dict["rto"])
            status = 400
    elif form.is_bound:
        status = 400
    start = timezone.now()
    end = start + timedelta(days=1)
    if limit is not None:
        rows = critical_personnel(limit, start, end)
    context = {"form": form, "rows": rows, "limit": limit, "start": start, "end": end,
               "gaps": sum(1 for row in rows if row.gap)}
    return render(request, "catalog/personnel.html", context, status=status)
