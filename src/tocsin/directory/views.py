"""Shared pieces of the directory pages, and the "confirm my details" link (B7)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from tocsin.core import audit
from tocsin.core.permissions import require
from tocsin.core.view_access import principal

from . import services, visibility
from .models import ContactMethod
from .services import stewardship
from .visibility import masked


def actor(request):
    return audit.Actor.user(request.user)


def can_edit(who, person):
    return visibility.can_edit_person(who, person)


def require_edit(request, person):
    """403 (audited) unless the signed-in user may change this person's details."""
    who = principal(request)
    if can_edit(who, person):
        return
    teams = list(person.teams.all())
    require(who, "contacts:write", teams[0] if teams else None, target=request.path[:200])


def masked_rows(methods):
    return [(method, masked(method)) for method in methods]


@never_cache
def confirm_details(request, token):
    """Anyone holding a valid link may confirm: the link was sent to the person by their steward."""
    try:
        person = stewardship.person_for_token(token)
    except ValidationError as exc:
        return render(request, "directory/confirm_invalid.html", {"detail": " ".join(exc.messages)}, status=400)
    if request.method == "POST":
        who = actor(request) if request.user.is_authenticated else audit.Actor.anonymous(f"confirm-link:{person.pk}")
        services.confirm_details(person, actor=who, source="ui")
        messages.success(request, "Thank you: your details are confirmed.")
        return render(request, "directory/confirm.html", {"person": person, "done": True})
    methods = ContactMethod.objects.filter(person=person, is_active=True)
    return render(
        request, "directory/confirm.html",
        {"person": person, "methods": masked_rows(methods), "teams": person.teams.all(), "done": False},
    )
