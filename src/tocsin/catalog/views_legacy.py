"""Legacy exception pages: the register with overdue reviews, a request form, and four-eyes approval."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from tocsin.core.form_errors import apply_errors
from tocsin.core.permissions import can
from tocsin.core.view_access import actor, permission_required, principal, require_for_team, teams_in_reach

from . import selectors, services
from .forms import ExceptionForm
from .models import LegacyException, Service


def _requestable(request):
    return Service.objects.filter(owner_team__in=teams_in_reach(request, "catalog:manage")).order_by("name")


def _render(request, form, status=200):
    today = timezone.localdate()
    rows = list(selectors.exceptions().order_by("status", "review_on", "pk"))
    context = {
        "pending": [e for e in rows if e.status == LegacyException.PENDING],
        "approved": [e for e in rows if e.status == LegacyException.APPROVED],
        "overdue": [e for e in rows if e.overdue(today)],
        "today": today,
        "form": form,
        "can_approve": can(principal(request), "catalog:approve"),
    }
    return render(request, "catalog/exceptions.html", context, status=status)


@permission_required("catalog:read")
def exceptions(request):
    services_ = _requestable(request)
    form = ExceptionForm(services=services_) if services_.exists() else None
    return _render(request, form)


@require_POST
@permission_required("catalog:read")
def exception_request(request):
    form = ExceptionForm(request.POST, services=_requestable(request))
    if form.is_valid():
        data = dict(form.cleaned_data)
        service = data.pop("service")
        require_for_team(request, "catalog:manage", service.owner_team)
        try:
            services.request_exception(service, actor=actor(request), requested_by=request.user, **data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "The exception is requested; someone else with approval rights must approve it.")
            return redirect("catalog-exceptions")
    return _render(request, form, status=400)


@require_POST
@permission_required("catalog:approve")
def exception_approve(request, exception_id):
    exception = get_object_or_404(selectors.exceptions(), pk=exception_id)
    try:
        services.approve_exception(exception, principal=principal(request), actor=actor(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"The exception for {exception.service.name} is approved.")
    return redirect("catalog-exceptions")
