"""People pages: the list, a person with their methods, reveal, edits behind step-up, and history."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from tocsin.core import mfa
from tocsin.core.form_errors import apply_errors
from tocsin.core.permissions import teams_for
from tocsin.core.view_access import permission_required, principal

from . import services, visibility
from .forms import DelegationForm, MethodForm, PeopleFilterForm
from .models import ContactMethod, Delegation, Person, RoleHolding
from .services import stewardship
from .values import mask
from .views import actor, can_edit, masked_rows, require_edit

PER_PAGE = 50
# Fields a version diff leaves out: derived from the value, or noise next to `verified`.
DIFF_EXCLUDED = ["value_index", "verified_at"]
SOURCES = {"ui": "web", "api": "API", "scim": "SCIM", "csv": "CSV import", "sync": "sync", "cli": "command line",
           "demo": "demo data", "system": "system"}


def _people_queryset():
    return Person.objects.select_related("site").prefetch_related(
        "teams", Prefetch("methods", queryset=ContactMethod.objects.filter(is_active=True))
    )


@permission_required("contacts:read")
def people(request):
    form = PeopleFilterForm(request.GET)
    page = Paginator(form.filter(_people_queryset()), PER_PAGE).get_page(request.GET.get("page"))
    rows = [{"person": person, "methods": masked_rows(person.methods.all())} for person in page]
    return render(
        request, "directory/people.html",
        {"form": form, "page": page, "rows": rows, "steward": _is_steward(request)},
    )


def _is_steward(request):
    return bool(teams_for(principal(request), "contacts:write"))


def _person_or_404(person_id):
    return get_object_or_404(Person.objects.select_related("site", "user").prefetch_related("teams"), pk=person_id)


def _method_or_404(method_id):
    queryset = ContactMethod.objects.select_related("person").prefetch_related("person__teams")
    return get_object_or_404(queryset, pk=method_id, person__isnull=False)


def _render_person(request, person, *, revealed=None, refused=None, delegation_form=None, status=200):
    who = principal(request)
    editable = can_edit(who, person)
    own = person.user_id is not None and person.user_id == request.user.pk
    may_delegate = editable or own
    now = timezone.now()
    context = {
        "person": person,
        "teams": person.teams.all(),
        "methods": [
            {"method": method, "masked": shown, "clear": (revealed or {}).get(method.pk)}
            for method, shown in masked_rows(ContactMethod.objects.filter(person=person))
        ],
        "refused": refused,
        "can_edit": editable,
        # Verification and notification rules (notify's pages) are for the person and their stewards.
        "own": own,
        "may_notify": editable or own,
        "can_view": bool(visibility.can_view_contact(who, person)),
        "holdings": RoleHolding.objects.filter(RoleHolding.current(now), person=person).select_related("role"),
        "delegations": Delegation.objects.filter(delegator=person, ends_at__gt=now).select_related("delegate")
        .order_by("starts_at"),
        "standing_in": Delegation.objects.filter(Delegation.current(now), delegate=person).select_related("delegator"),
        "delegation_form": (delegation_form or DelegationForm(person=person)) if may_delegate else None,
        "confirm_url": request.build_absolute_uri(
            reverse("directory-confirm", args=[stewardship.confirmation_token(person)])
        ) if editable else "",
    }
    return render(request, "directory/person.html", context, status=status)


@permission_required("contacts:read")
def person_detail(request, person_id):
    return _render_person(request, _person_or_404(person_id))


@require_POST
@permission_required("contacts:read")
def reveal(request, method_id):
    method = _method_or_404(method_id)
    value = visibility.reveal(principal(request), method)
    if value is None:
        return _render_person(request, method.person, refused=method, status=403)
    return _render_person(request, method.person, revealed={method.pk: value})


@permission_required("contacts:read")
def method_edit(request, method_id):
    method = _method_or_404(method_id)
    require_edit(request, method.person)  # before step-up: nobody is asked for a code only to be refused
    return _method_edit(request, method)


@mfa.require_step_up
def _method_edit(request, method):
    form = MethodForm(request.POST or None, method=method)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_method(method, actor=actor(request), source="ui", **form.changes())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "The contact method is saved.")
            return redirect("directory-person", person_id=method.person_id)
    context = {"form": form, "person": method.person, "method": method, "masked": visibility.masked(method)}
    return render(request, "directory/method_form.html", context, status=400 if form.errors else 200)


@permission_required("contacts:read")
def method_add(request, person_id):
    person = _person_or_404(person_id)
    require_edit(request, person)
    return _method_add(request, person)


@mfa.require_step_up
def _method_add(request, person):
    form = MethodForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_method(actor=actor(request), source="ui", person=person, **form.changes())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "The contact method is added.")
            return redirect("directory-person", person_id=person.pk)
    context = {"form": form, "person": person, "method": None}
    return render(request, "directory/method_form.html", context, status=400 if form.errors else 200)


@require_POST
@permission_required("contacts:read")
def method_verify(request, method_id):
    method = _method_or_404(method_id)
    require_edit(request, method.person)
    return _verify(request, method)


@mfa.require_step_up
def _verify(request, method):
    services.mark_verified(method, actor=actor(request), source="ui", how="steward")
    messages.success(request, "Marked as verified.")
    return redirect("directory-person", person_id=method.person_id)


@permission_required("contacts:read")
def person_history(request, person_id):
    person = _person_or_404(person_id)
    who = principal(request)
    decision = visibility.can_view_contact(who, person)
    if decision:
        stewardship.record_history_view(actor(request), person, decision.basis)
    methods = ContactMethod.objects.filter(person=person)
    context = {
        "person": person,
        "sections": [(method, _versions(method, clear=bool(decision))) for method in methods],
        "clear": bool(decision),
        "can_edit": can_edit(who, person),
    }
    return render(request, "directory/history.html", context)


def _show(field, value, kind, clear):
    if field == "value" and not clear:
        return mask(kind, value)
    if value in (None, ""):
        return "(empty)"
    return value


def _versions(method, *, clear):
    """Newest first: who, when, through which source, and what changed from the version before."""
    versions = list(method.history.select_related("history_user").order_by("history_date", "history_id"))
    entries = []
    for index, version in enumerate(versions):
        source, _, rest = (version.history_change_reason or "").partition(":")
        label = version.history_user.get_username() if version.history_user else rest.partition(":")[2]
        if index == 0:
            changes = [
                {"field": name, "old": None, "new": _show(name, getattr(version, name), version.kind, clear)}
                for name in ("kind", "value", "label", "availability", "usage")
            ]
        else:
            previous = versions[index - 1]
            delta = version.diff_against(previous, excluded_fields=DIFF_EXCLUDED)
            changes = [
                {
                    "field": change.field,
                    "old": _show(change.field, change.old, previous.kind, clear),
                    "new": _show(change.field, change.new, version.kind, clear),
                }
                for change in delta.changes
            ]
        entries.append({
            "version": version,
            "source": source or "unknown",
            "source_label": SOURCES.get(source, source or "unknown"),
            "who": label or "unknown",
            "changes": changes,
            "current": index == len(versions) - 1,
        })
    return list(reversed(entries))


@permission_required("contacts:read")
def method_restore(request, method_id, history_id):
    method = _method_or_404(method_id)
    require_edit(request, method.person)
    return _method_restore(request, method, history_id)


@mfa.require_step_up
def _method_restore(request, method, history_id):
    version = get_object_or_404(method.history, history_id=history_id)
    if request.method == "POST":
        try:
            services.restore_method(method, history_id, actor=actor(request), source="ui")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Restored the version of {version.history_date:%Y-%m-%d %H:%M} UTC.")
        return redirect("directory-person-history", person_id=method.person_id)
    # A GET lands here after the step-up page, which can only send the browser back with a GET.
    context = {"method": method, "person": method.person, "version": version, "masked": mask(version.kind, version.value)}
    return render(request, "directory/restore.html", context)


@require_POST
@permission_required("contacts:read")
def delegate(request, person_id):
    person = _person_or_404(person_id)
    if person.user_id != request.user.pk:
        require_edit(request, person)  # people may hand over their own roles; stewards anyone's in their teams
    return _delegate(request, person)


@mfa.require_step_up  # a delegation re-routes pages, emergency ones included
def _delegate(request, person):
    form = DelegationForm(request.POST, person=person)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.delegate(
                person, data["delegate"], actor=actor(request), starts_at=data["starts_at"], ends_at=data["ends_at"],
                reason=data["reason"], source="ui",
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"{data['delegate']} stands in for {person} until {data['ends_at']:%Y-%m-%d %H:%M}.")
            return redirect("directory-person", person_id=person.pk)
    return _render_person(request, person, delegation_form=form, status=400)
