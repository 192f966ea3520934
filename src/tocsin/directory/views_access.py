"""Access pages: request a break-glass grant, decide on pending ones, and the access review (A7)."""

import csv
import io

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from tocsin.core import services as core_services
from tocsin.core.form_errors import apply_errors
from tocsin.core.models import RoleAssignment
from tocsin.core.permissions import can
from tocsin.core.view_access import permission_required, principal

from . import services
from .forms import GrantRequestForm
from .models import AccessGrant, Person
from .services import stewardship
from .views import actor


def _render_access(request, form, status=200):
    who = principal(request)
    reviewer = can(who, "access:review")
    context = {
        "form": form,
        "person": _chosen_person(form),
        "my_grants": AccessGrant.objects.filter(grantee=request.user).select_related("person", "team", "role")[:50],
        "reviewer": reviewer,
        "now": timezone.now(),
    }
    if reviewer:
        context["pending"] = AccessGrant.objects.filter(status=AccessGrant.PENDING).select_related(
            "grantee", "person", "team", "role"
        ).order_by("requested_at")
        context["assignments"], context["grants"] = stewardship.access_review()
    return render(request, "directory/access.html", context, status=status)


def _chosen_person(form):
    person_id = _person_id(str(form["person"].value() or ""))
    return Person.objects.filter(pk=person_id).first() if person_id else None


def _person_id(value):
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 19 else None


@permission_required("contacts:read")
def access(request):
    person_id = _person_id(request.GET.get("person"))
    initial = {"scope": "person", "person": person_id} if person_id else {"scope": "team"}
    return _render_access(request, GrantRequestForm(initial=initial))


@require_POST
@permission_required("contacts:read")
def grant_request(request):
    form = GrantRequestForm(request.POST)
    if form.is_valid():
        try:
            grant = services.request_grant(
                request.user, actor=actor(request), reason=form.cleaned_data["reason"],
                duration_minutes=form.cleaned_data["duration_minutes"], **form.scope_kwargs(),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            if grant.status == AccessGrant.ACTIVE:
                messages.success(request, f"Access to {grant.scope_label} is granted until {grant.ends_at:%H:%M} UTC.")
            else:
                messages.success(request, f"Your request for {grant.scope_label} waits for a security officer.")
            if grant.person_id:
                return redirect("directory-person", person_id=grant.person_id)
            return redirect("directory-access")
    return _render_access(request, form, status=400)


@require_POST
@permission_required("contacts:read")
def grant_action(request, grant_id, action):
    grant = get_object_or_404(AccessGrant.objects.select_related("grantee"), pk=grant_id)
    if action not in services.grants.DECISIONS:
        return render(request, "web/error.html", {"status": 404, "detail": "Unknown action."}, status=404)
    try:
        services.decide_grant(grant, action, principal=principal(request), actor=actor(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Grant for {grant.grantee.username} ({grant.scope_label}): {grant.get_status_display().lower()}.")
    return redirect("directory-access")


@require_POST
@permission_required("access:review")
def role_revoke(request, assignment_id):
    assignment = get_object_or_404(RoleAssignment.objects.select_related("user", "team"), pk=assignment_id)
    core_services.revoke_role(assignment, actor=actor(request))
    where = f" for {assignment.team.name}" if assignment.team else ""
    messages.success(request, f"{assignment.user.username} no longer holds {assignment.role}{where}.")
    return redirect("directory-access")


def _cell(value):
    # A spreadsheet runs a cell that starts like a formula; a leading quote keeps it text.
    text = str(value)
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


@permission_required("access:review")
def review_csv(request):
    rows = stewardship.export_access_review(actor=actor(request))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="tocsin-access-review-{timezone.now():%Y%m%d}.csv"'
    return response
