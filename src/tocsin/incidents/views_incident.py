"""The incident page: its header, timeline, responders and the panels other apps add, and the
responders' actions posted from it. Every action checks its permission on the owner team of
the incident's service again, whatever buttons the page showed."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from tocsin.core.form_errors import apply_errors
from tocsin.core.permissions import can
from tocsin.core.view_access import actor, permission_required, principal, require_for_team

from . import panels, selectors, services
from .forms import SNOOZE_CHOICES, NoteForm, ReassignForm, ResolveForm, RespondersForm, SnoozeForm
from .models import Incident

VIA = "web"
RESPOND, INITIATE = "incidents:respond", "escalation:initiate"
REVIEW = "breach:manage"  # security officers and administrators


def _page_data(request, number):
    try:
        return selectors.incident_detail(request.user, number=number)
    except Incident.DoesNotExist:
        raise Http404("No such incident.") from None


def _render(request, incident, *, status=200, **forms):
    """The page; `forms` replaces the blank form of the action that failed, to show its errors."""
    team = incident.service.owner_team_id
    may_respond = can(principal(request), RESPOND, team)
    context = {
        "incident": incident,
        "timeline": incident.timeline.all(),
        "responders": incident.responders.all(),
        "related_services": incident.related_services.all(),
        "can_respond": may_respond,
        "can_escalate": incident.is_open and can(principal(request), INITIATE, team),
        "can_review": incident.needs_review and can(principal(request), REVIEW, team),
        "snooze_choices": SNOOZE_CHOICES,
        "panels": _panels(incident, request),
    }
    if may_respond:
        context["note_form"] = forms.get("note_form") or NoteForm(prefix="note")
        if incident.is_open:
            context.update({
                "resolve_form": forms.get("resolve_form") or ResolveForm(prefix="resolve"),
                "reassign_form": forms.get("reassign_form") or ReassignForm(prefix="reassign"),
                "responders_form": forms.get("responders_form") or RespondersForm(prefix="responders"),
            })
    return render(request, "incidents/incident.html", context, status=status)


def _panels(incident, request):
    """Other apps' sections, rendered. A panel's template sees its context both as `panel` (as if
    included `with panel=context`) and key by key at the top level, beside the incident."""
    return [render_to_string(template, {"incident": incident, **context, "panel": context}, request=request)
            for template, context in panels.rendered_for(incident, request)]


@permission_required("incidents:read")
def incident_page(request, number):
    return _render(request, _page_data(request, number))


def _acting_on(request, number, perm=RESPOND):
    """The incident, after checking `perm` on its service's owner team (403 page otherwise)."""
    incident = get_object_or_404(selectors.visible(request.user).select_related("service"), number=number)
    require_for_team(request, perm, incident.service.owner_team_id)
    return incident


def _outcome(request, incident, action, done, form_name=None, form=None):
    """Run `action`; on success say `done` and go back to the page, else show why (400)."""
    try:
        action()
    except ValidationError as exc:
        return _refused(request, incident, exc, form_name, form)
    if done:
        messages.success(request, done)
    return redirect("incident", number=incident.number)


def _refused(request, incident, exc=None, form_name=None, form=None):
    """The page again (400) with the errors beside the form, or above the page when the form is
    not shown (an action's form shows only while the incident is open; the note form always)."""
    fresh = _page_data(request, incident.number)
    if form is not None and (fresh.is_open or form_name == "note_form"):
        if exc is not None:
            apply_errors(form, exc)
        return _render(request, fresh, status=400, **{form_name: form})
    if exc is not None:
        messages.error(request, " ".join(exc.messages))
    elif form is not None:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return _render(request, fresh, status=400)


@require_POST
@permission_required("incidents:read")
def acknowledge(request, number):
    incident = _acting_on(request, number)
    return _outcome(request, incident, lambda: services.acknowledge(incident, actor=actor(request), via=VIA),
                    f"{incident.reference} is acknowledged: escalation has stopped.")


@require_POST
@permission_required("incidents:read")
def unacknowledge(request, number):
    incident = _acting_on(request, number)
    return _outcome(request, incident, lambda: services.unacknowledge(incident, actor=actor(request)),
                    f"{incident.reference} is triggered again: escalation starts over.")


@require_POST
@permission_required("incidents:read")
def resolve(request, number):
    incident = _acting_on(request, number)
    form = ResolveForm(request.POST, prefix="resolve")
    if not form.is_valid():
        return _refused(request, incident, None, "resolve_form", form)
    note = form.cleaned_data["note"]
    return _outcome(request, incident,
                    lambda: services.resolve(incident, actor=actor(request), via=VIA, note=note),
                    f"{incident.reference} is resolved.", "resolve_form", form)


@require_POST
@permission_required("incidents:read")
def snooze(request, number):
    incident = _acting_on(request, number)
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Snooze for {', '.join(map(str, SNOOZE_CHOICES))} minutes.")
        return _render(request, _page_data(request, incident.number), status=400)
    minutes = form.cleaned_data["minutes"]
    return _outcome(request, incident, lambda: services.snooze(incident, minutes, actor=actor(request)),
                    f"{incident.reference} is snoozed for {minutes} minutes.")


@require_POST
@permission_required("incidents:read")
def escalate(request, number):
    incident = _acting_on(request, number, INITIATE)
    return _outcome(request, incident, lambda: services.escalate_now(incident, actor=actor(request), via=VIA),
                    f"{incident.reference}: the next tier is being paged now.")


@require_POST
@permission_required("incidents:read")
def reassign(request, number):
    incident = _acting_on(request, number)
    form = ReassignForm(request.POST, prefix="reassign")
    if not form.is_valid():
        return _refused(request, incident, None, "reassign_form", form)
    person = form.cleaned_data["person"]
    return _outcome(request, incident, lambda: services.reassign(incident, person, actor=actor(request)),
                    f"{incident.reference} is assigned to {person.name}.", "reassign_form", form)


@require_POST
@permission_required("incidents:read")
def add_note(request, number):
    incident = _acting_on(request, number)
    form = NoteForm(request.POST, prefix="note")
    if not form.is_valid():
        return _refused(request, incident, None, "note_form", form)
    text = form.cleaned_data["text"]
    return _outcome(request, incident, lambda: services.add_note(incident, text, actor=actor(request)),
                    "The note is on the timeline.", "note_form", form)


@require_POST
@permission_required("incidents:read")
def add_responders(request, number):
    incident = _acting_on(request, number)
    form = RespondersForm(request.POST, prefix="responders")
    if not form.is_valid():
        return _refused(request, incident, None, "responders_form", form)
    targets, message = form.targets(), form.cleaned_data["message"]
    return _outcome(request, incident,
                    lambda: services.add_responders(incident, targets, actor=actor(request), message=message),
                    f"Paged {len(targets)} more target{'s' if len(targets) != 1 else ''}.", "responders_form", form)


@require_POST
@permission_required("incidents:read")
def security_review(request, number):
    """Security officers (and administrators) complete the review a security incident asks for."""
    incident = _acting_on(request, number, REVIEW)
    note = request.POST.get("note", "")
    return _outcome(request, incident, lambda: services.complete_security_review(incident, actor=actor(request), note=note),
                    "The security review is recorded.")
