"""SCIM 2.0 HTTP endpoints (RFC 7644) so an identity provider provisions people and teams."""

import functools
import json
import logging

from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from tocsin.core import audit, tokens
from tocsin.core.models import Team
from tocsin.core.permissions import PermissionDeniedError, Principal, require

from . import scim_discovery
from .models import Person
from .scim_errors import ScimError, bad
from .scim_filter import filter_people, filter_teams, resource_pk
from .scim_protocol import LIST_SCHEMA, MEDIA_TYPE, apply_patch, read_json
from .scim_resources import (
    GROUP,
    USER,
    canonical,
    group_fields,
    group_members,
    members_from_ids,
    parse_group_body,
    parse_user_body,
    patchable_user,
    people_for_render,
    render_group,
    render_user,
    scim_person,
    user_record,
)
from .services import provisioning

log = logging.getLogger("tocsin.scim")
PERMISSION = "contacts:write"
MAX_COUNT = 200
MAX_START = 2**31  # beyond any real directory; keeps OFFSET inside what every database accepts


def respond(body, status=200, location=None):
    if body is None:
        response = HttpResponse(status=status)
        del response["Content-Type"]
    else:
        response = HttpResponse(json.dumps(body), status=status, content_type=MEDIA_TYPE)
    if location:
        response["Location"] = location
    return response


def _authenticate(request):
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    token = tokens.authenticate(raw.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        # Not audited, like the rest of the API: unauthenticated noise must not grow the audit chain.
        log.warning("scim request without a valid token", extra={"path": request.path})
        raise ScimError(401, "A valid API token is required: send 'Authorization: Bearer <token>'.")
    principal = Principal.load(token.user, token)
    try:
        # contacts:write is team-scoped: without a team, only an assignment that reaches every team
        # (an administrator) passes, and the token must name the scope since it is interactive.
        require(principal, PERMISSION, target="scim")
    except PermissionDeniedError:
        raise ScimError(
            403, f"The token needs the '{PERMISSION}' scope and its user '{PERMISSION}' for every team (an administrator)."
        ) from None
    request.principal = principal
    return audit.Actor.of(principal)


def scim_view(methods):
    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                actor = _authenticate(request)
                if request.method not in methods:
                    raise ScimError(405, f"{request.method} is not supported here; use {', '.join(methods)}.")
                return view(request, actor, *args, **kwargs)
            except ScimError as exc:
                response = respond(exc.body(), exc.status)
                if exc.status == 401:
                    response["WWW-Authenticate"] = 'Bearer realm="tocsin-scim"'
                return response
            except provisioning.Conflict as exc:
                return respond(ScimError(409, f"{exc.attribute}: {exc.message}", exc.scim_type).body(), 409)
            except IntegrityError:
                # Most likely two requests raced for the same userName or externalId; the database kept one.
                return respond(ScimError(409, "The change conflicts with data written meanwhile; retry it.").body(), 409)
            except ValidationError as exc:
                if "external_id" in getattr(exc, "message_dict", {}):
                    # add_external_id lost a race for a userName or externalId to another request.
                    return respond(ScimError(409, "userName or externalId: already taken.", "uniqueness").body(), 409)
                return respond(bad(_describe(exc)).body(), 400)
            except RequestDataTooBig:
                return respond(ScimError(413, "The request body is too large.").body(), 413)

        return wrapper

    return decorate


def _describe(exc):
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
    return " ".join(exc.messages)


def _location_for(request):
    def location(kind, pk):
        return request.build_absolute_uri(reverse(f"scim-{kind.lower()}", args=[pk]))

    return location


def _paging(request):
    def number(name, default):
        raw = request.GET.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise bad(f"'{name}' must be an integer.") from None

    start = min(max(1, number("startIndex", 1)), MAX_START)
    count = min(max(0, number("count", 100)), MAX_COUNT)
    return start, count


def _list(request, queryset, render):
    start, count = _paging(request)
    total = queryset.count()
    page = list(queryset[start - 1:start - 1 + count]) if count else []
    resources = [_select(request, render(item)) for item in page]
    return respond({
        "schemas": [LIST_SCHEMA], "totalResults": total, "startIndex": start,
        "itemsPerPage": len(resources), "Resources": resources,
    })


def _select(request, resource):
    """Honour `attributes` / `excludedAttributes` at the top level; id and schemas always stay."""
    wanted = {a.strip().split(".")[0].lower() for a in request.GET.get("attributes", "").split(",") if a.strip()}
    unwanted = {a.strip().split(".")[0].lower() for a in request.GET.get("excludedAttributes", "").split(",") if a.strip()}
    if not wanted and not unwanted:
        return resource
    return {
        key: value for key, value in resource.items()
        if key in {"schemas", "id"} or ((not wanted or key.lower() in wanted) and key.lower() not in unwanted)
    }


# --- discovery ----------------------------------------------------------------


@scim_view(["GET"])
def service_provider_config(request, actor):
    return respond(scim_discovery.service_provider_config(request, MAX_COUNT))


@scim_view(["GET"])
def resource_types(request, actor, name=None):
    return respond(scim_discovery.resource_types(request, name))


@scim_view(["GET"])
def schemas(request, actor, urn=None):
    return respond(scim_discovery.schemas(request, urn))


@csrf_exempt
def not_found(request):
    return respond(ScimError(404, f"No SCIM endpoint at {request.path[:200]}.").body(), 404)


# --- users --------------------------------------------------------------------


@scim_view(["GET", "POST"])
def users(request, actor):
    location = _location_for(request)
    if request.method == "POST":
        record = parse_user_body(read_json(request), creating=True)
        person = provisioning.create_user(record, actor=actor)
        body = render_user(people_for_render(Person.objects.filter(pk=person.pk)).get(), location)
        return respond(body, 201, location=body["meta"]["location"])
    people = provisioning.scim_people()
    if request.GET.get("filter"):
        people = filter_people(request.GET["filter"])
    shown = []

    def render(person):
        shown.append(person.pk)
        return render_user(person, location)

    response = _list(request, people_for_render(people.order_by("pk")), render)
    provisioning.record_read(shown, actor=actor)
    return response


@scim_view(["GET", "PUT", "PATCH", "DELETE"])
def user(request, actor, resource_id):
    location = _location_for(request)
    person = scim_person(resource_pk(resource_id)) if resource_pk(resource_id) is not None else None
    if person is None:
        raise ScimError(404, f"No User with id '{resource_id[:40]}'.")
    if request.method == "DELETE":
        provisioning.deactivate_user(person, actor=actor)
        return respond(None, 204)
    if request.method == "PUT":
        provisioning.update_user(person, parse_user_body(read_json(request), creating=False), actor=actor)
    elif request.method == "PATCH":
        data = read_json(request)
        with transaction.atomic():
            # Read-modify-write: the lock keeps a concurrent PATCH from undoing this one.
            person = Person.objects.select_for_update().get(pk=person.pk)
            resource = patchable_user(person)
            touched = apply_patch(resource, data, USER)
            record = user_record(canonical(resource, USER, "User"), touched=touched, current=person.name)
            provisioning.update_user(person, record, actor=actor)
    person = people_for_render(Person.objects.filter(pk=person.pk)).get()
    if request.method == "GET":
        provisioning.record_read([person.pk], actor=actor)
    return respond(_select(request, render_user(person, location)))



# --- groups -------------------------------------------------------------------


@scim_view(["GET", "POST"])
def groups(request, actor):
    location = _location_for(request)
    if request.method == "POST":
        name, ids = parse_group_body(read_json(request))
        team = provisioning.create_group(name, members_from_ids(ids or []), actor=actor)
        body = render_group(team, group_members(team), location)
        return respond(body, 201, location=body["meta"]["location"])
    teams = filter_teams(request.GET["filter"]) if request.GET.get("filter") else Team.objects.all()
    return _list(request, teams.order_by("pk"), lambda t: render_group(t, group_members(t), location))


@scim_view(["GET", "PUT", "PATCH", "DELETE"])
def group(request, actor, resource_id):
    location = _location_for(request)
    team = Team.objects.filter(pk=resource_pk(resource_id)).first() if resource_pk(resource_id) is not None else None
    if team is None:
        raise ScimError(404, f"No Group with id '{resource_id[:40]}'.")
    if request.method == "DELETE":
        provisioning.delete_group(team, actor=actor)
        return respond(None, 204)
    if request.method == "PUT":
        name, ids = parse_group_body(read_json(request))
        provisioning.update_group(team, name=name, members=members_from_ids(ids or []), actor=actor)
    elif request.method == "PATCH":
        data = read_json(request)
        with transaction.atomic():
            team = Team.objects.select_for_update().get(pk=team.pk)
            resource = {"displayName": team.name, "members": [{"value": str(p.pk)} for p in group_members(team)]}
            touched = apply_patch(resource, data, GROUP)
            name, ids = group_fields(canonical(resource, GROUP, "Group"))
            # Only a PATCH that touched members syncs them; a rename leaves membership alone.
            touched_members = any(t == "members" or t.startswith("members.") for t in touched)
            members = members_from_ids(ids or []) if touched_members else None
            provisioning.update_group(team, name=name, members=members, actor=actor)
        return respond(None, 204)
    return respond(_select(request, render_group(team, group_members(team), location)))
