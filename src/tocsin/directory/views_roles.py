"""Role pages: current holders with delegations, the emergency contact sheet and the compliance checks."""

from collections import defaultdict

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from tocsin.core.permissions import ALL_TEAMS, require, teams_for
from tocsin.core.view_access import permission_required, principal

from . import compliance, resolution
from .models import ContactMethod, Delegation, OrgRole
from .views import masked_rows


def _holder_rows(role, at):
    """Each holder with who stands in for them now: the first hop's end date, the chain's last person."""
    rows = []
    for holder in resolution.holders(role, at):
        delegation = (
            Delegation.objects.filter(Delegation.current(at), delegator=holder, delegate__is_active=True)
            .order_by("-starts_at").first()
        )
        stand_in = resolution.delegate_for(holder, at) if delegation else holder
        rows.append({"holder": holder, "stand_in": stand_in if stand_in != holder else None, "delegation": delegation})
    return rows


@permission_required("contacts:read")
def roles(request):
    at = timezone.now()
    gaps = {role.pk for role in compliance.coverage_gaps(at)}
    rows = [
        {"role": role, "holders": _holder_rows(role, at), "gap": role.pk in gaps}
        for role in OrgRole.objects.select_related("team")
    ]
    return render(request, "directory/roles.html", {"rows": rows, "gap_count": len(gaps)})


@permission_required("contacts:read")
def contact_sheet(request):
    levels = compliance.contact_sheet()
    people_ids = {person.pk for level in levels for person in level.people}
    by_person = defaultdict(list)
    # One query for every person's methods; masked because the sheet is open to every reader.
    for method in ContactMethod.objects.filter(person_id__in=people_ids, is_active=True):
        by_person[method.person_id].append(method)
    rows = [
        {
            "level": level,
            "people": [(person, masked_rows(by_person[person.pk])) for person in level.people],
            # A role's own hotline or mailbox is not personal data, and a sheet is useless without it.
            "shared": level.shared,
        }
        for level in levels
    ]
    return render(request, "directory/sheet.html", {"rows": rows})


@login_required
def compliance_page(request):
    who = principal(request)
    reach = teams_for(who, "contacts:write")
    if not reach:
        require(who, "contacts:write", target=request.path[:200])
    steward = None if reach == ALL_TEAMS else request.user
    context = {
        "short": compliance.below_minimum_methods(),
        "overdue": compliance.overdue_validations(steward=steward),
        "gaps": compliance.coverage_gaps(),
        "everyone": steward is None,
    }
    return render(request, "directory/compliance.html", context)
