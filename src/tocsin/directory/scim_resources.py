"""SCIM Users and Groups as Tocsin sees them: validating what an identity provider sends, and rendering people and teams."""

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError

from .models import ContactMethod, Person
from .scim_errors import bad
from .scim_protocol import Schema, require_schemas
from .services import provisioning
from .values import normalise

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
MAX_TEXT = 200
MAX_ITEMS = 20
MAX_MEMBERS = 10000

_MULTI_SUBS = {s.lower(): s for s in ("value", "type", "primary", "display", "$ref")}
USER = Schema(
    USER_SCHEMA,
    {
        "username": ("userName", "simple", {}),
        "externalid": ("externalId", "simple", {}),
        "displayname": ("displayName", "simple", {}),
        "active": ("active", "simple", {}),
        "timezone": ("timezone", "simple", {}),
        "name": ("name", "complex", {s.lower(): s for s in (
            "formatted", "givenName", "familyName", "middleName", "honorificPrefix", "honorificSuffix")}),
        "emails": ("emails", "multi", _MULTI_SUBS),
        "phonenumbers": ("phoneNumbers", "multi", _MULTI_SUBS),
    },
    # RFC 7643 attributes Tocsin has no place for; identity providers send several of them by default.
    ignored={
        "nickname", "profileurl", "title", "usertype", "preferredlanguage", "locale", "password", "ims",
        "photos", "addresses", "entitlements", "roles", "x509certificates", "groups",
    },
    extensions=[ENTERPRISE_SCHEMA],
)
GROUP = Schema(
    GROUP_SCHEMA,
    {"displayname": ("displayName", "simple", {}), "members": ("members", "multi", _MULTI_SUBS)},
    ignored={"externalid"},
)

# SCIM type -> ContactMethod kind. Home addresses and numbers are left out on purpose, like
# home addresses in the person model; fax and pager numbers cannot be paged here.
EMAIL_KINDS = {"work": ContactMethod.EMAIL, "other": ContactMethod.ALT_EMAIL}
PHONE_KINDS = {"mobile": ContactMethod.SMS, "work": ContactMethod.VOICE}
_KNOWN_TYPES = {"emails": {"work", "home", "other"}, "phoneNumbers": {"work", "home", "mobile", "fax", "pager", "other"}}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def canonical(data, schema, where):
    """Keys of a request body mapped to canonical attribute names; ignored attributes dropped."""
    resource = {}
    for key, value in data.items():
        lowered = key.lower()
        if lowered == "schemas" or lowered in schema.readonly:
            continue
        if lowered in schema.extensions:
            if not isinstance(value, dict):
                raise bad(f"'{key}' must be an object.")
            continue
        if lowered.startswith("urn:"):
            raise bad(f"Unknown schema extension '{key[:120]}'; this server supports {ENTERPRISE_SCHEMA} only.", "invalidSyntax")
        attribute = schema.attribute(key, where)
        if attribute is None:
            continue
        name, kind, subs = attribute
        if kind == "complex" and isinstance(value, dict):
            value = {_sub(subs, name, k): v for k, v in value.items()}
        elif kind == "multi" and isinstance(value, list):
            value = [{_sub(subs, name, k): v for k, v in item.items()} if isinstance(item, dict) else item for item in value]
        resource[name] = value
    return resource


def _sub(subs, name, key):
    if key.lower() not in subs:
        raise bad(f"'{name}' has no sub-attribute '{key[:60]}'.")
    return subs[key.lower()]


def _text(value, name, *, required=False, limit=MAX_TEXT):
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise bad(f"'{name}' is required.")
        return None
    if not isinstance(value, str):
        raise bad(f"'{name}' must be a string, not {type(value).__name__}.")
    value = value.strip()
    if len(value) > limit:
        raise bad(f"'{name}' is longer than {limit} characters.")
    if _CONTROL.search(value):
        raise bad(f"'{name}' contains control characters.")
    return value


def _boolean(value, name):
    # Entra ID sends "True" and "False" as strings.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise bad(f"'{name}' must be true or false.")


def _contacts(resource, attribute, kinds):
    items = resource.get(attribute)
    if items is None:
        return {}
    if not isinstance(items, list):
        raise bad(f"'{attribute}' must be a list of objects.")
    if len(items) > MAX_ITEMS:
        raise bad(f"'{attribute}' has more than {MAX_ITEMS} entries.")
    found = {}
    for item in items:
        if not isinstance(item, dict):
            raise bad(f"Each entry of '{attribute}' must be an object.")
        scim_type = _text(item.get("type"), f"{attribute}.type") or "work"
        scim_type = scim_type.lower()
        if scim_type not in _KNOWN_TYPES[attribute]:
            raise bad(f"'{attribute}' type '{scim_type[:30]}' is not one of {', '.join(sorted(_KNOWN_TYPES[attribute]))}.")
        if "primary" in item and item["primary"] is not None:
            _boolean(item["primary"], f"{attribute}.primary")
        path = f'{attribute}[type eq "{scim_type}"].value'
        raw = item.get("value")
        if raw is None or raw == "":
            continue  # a removed value leaves an empty entry behind
        if not isinstance(raw, str):
            raise bad(f"'{path}' must be a string.")
        if scim_type not in kinds:
            continue
        kind = kinds[scim_type]
        if kind in found:
            raise bad(f"'{attribute}' has more than one entry of type '{scim_type}'.")
        try:
            found[kind] = normalise(kind, raw, field=path)
        except ValidationError as exc:
            raise bad(f"{path}: {' '.join(exc.message_dict[path])}") from None
    return found


def _first_word_split(name):
    given, _, family = (name or "").partition(" ")
    return given, family


def _resolve_name(resource, touched, current, user_name):
    """Person.name is one field: displayName wins, then name.formatted, then given and family name.
    A PATCH of one name part keeps the other part of the current name (first word / the rest)."""
    name = resource.get("name")
    if name is not None and not isinstance(name, dict):
        raise bad("'name' must be an object.")
    name = name or {}
    parts = {key: _text(name.get(key), f"name.{key}") for key in ("formatted", "givenName", "familyName")}
    display = _text(resource.get("displayName"), "displayName")

    def wants(attribute):
        return touched is None or attribute in touched or attribute.split(".")[0] in touched

    if wants("displayName") and display:
        return display
    if wants("name.formatted") and parts["formatted"]:
        return parts["formatted"]
    if wants("name.givenName") or wants("name.familyName"):
        given, family = _first_word_split(current)
        if touched is None or wants("name.givenName"):
            given = parts["givenName"] or ""
        if touched is None or wants("name.familyName"):
            family = parts["familyName"] or ""
        composed = f"{given} {family}".strip()
        if composed:
            return composed[:MAX_TEXT]
    if current and touched is not None:
        return current
    return display or parts["formatted"] or user_name


def user_record(resource, *, touched=None, current=None, creating=False):
    """A validated provisioning.UserRecord from a canonical User resource. `touched` is None for
    POST and PUT (the body is the whole truth) or the attributes a PATCH changed."""
    user_name = _text(resource.get("userName"), "userName", required=True)
    time_zone = _text(resource.get("timezone"), "timezone", limit=64)
    if time_zone is not None:
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise bad(f"'timezone' '{time_zone}' is not a known IANA time zone, such as Europe/Berlin.") from None
    active = resource.get("active")
    if active is None:
        active = True if creating else None
    else:
        active = _boolean(active, "active")
    return provisioning.UserRecord(
        user_name=user_name,
        name=_resolve_name(resource, touched, current, user_name),
        external_id=_text(resource.get("externalId"), "externalId"),
        active=active,
        time_zone=time_zone,
        contacts={**_contacts(resource, "emails", EMAIL_KINDS), **_contacts(resource, "phoneNumbers", PHONE_KINDS)},
    )


def parse_user_body(data, *, creating):
    require_schemas(data, USER_SCHEMA, [USER_SCHEMA, ENTERPRISE_SCHEMA])
    return user_record(canonical(data, USER, "User"), creating=creating)


def group_fields(resource):
    """(displayName, member person ids or None) from a canonical Group resource."""
    name = _text(resource.get("displayName"), "displayName", required=True, limit=120)
    members = resource.get("members")
    if members is None:
        return name, None
    if not isinstance(members, list):
        raise bad("'members' must be a list of objects.")
    if len(members) > MAX_MEMBERS:
        raise bad(f"'members' has more than {MAX_MEMBERS} entries.", "tooMany")
    ids = []
    for member in members:
        if not isinstance(member, dict) or not isinstance(member.get("value"), str | int):
            raise bad("Each member must be an object with a 'value' holding a User id.")
        if str(member.get("type") or "User").lower() != "user":
            raise bad("Only Users can be group members here; nested groups are not supported.")
        ids.append(str(member["value"]))
    return name, ids


def parse_group_body(data):
    require_schemas(data, GROUP_SCHEMA, [GROUP_SCHEMA])
    return group_fields(canonical(data, GROUP, "Group"))


def members_from_ids(ids):
    """The SCIM people for `ids`, or a 400 naming the first unknown id."""
    if ids is None:
        return None
    wanted = set(ids)
    numeric = {int(i) for i in wanted if i.isascii() and i.isdigit() and len(i) < 19}
    people = {str(p.pk): p for p in provisioning.scim_people().filter(pk__in=numeric)}
    unknown = sorted(wanted - set(people))
    if unknown:
        raise bad(f"members: no User with id '{unknown[0][:40]}'.")
    return list(people.values())


# --- rendering ----------------------------------------------------------------


def _meta(kind, pk, created, modified, location):
    return {
        "resourceType": kind,
        "created": created.isoformat(),
        "lastModified": modified.isoformat(),
        "location": location(kind, pk),
    }


def people_for_render(queryset):
    return queryset.prefetch_related("external_ids", "teams", "methods")


def render_user(person, location):
    external = {e.source: e.sealed or e.value for e in person.external_ids.all()}
    emails, phones = [], []
    for method in person.methods.all():
        if method.label != provisioning.MANAGED_LABEL:
            continue
        for scim_type, kind in EMAIL_KINDS.items():
            if method.kind == kind:
                emails.append({"value": method.value, "type": scim_type, "primary": kind == ContactMethod.EMAIL})
        for scim_type, kind in PHONE_KINDS.items():
            if method.kind == kind:
                phones.append({"value": method.value, "type": scim_type})
    user = {
        "schemas": [USER_SCHEMA],
        "id": str(person.pk),
        "userName": external.get(provisioning.USER_NAME, ""),
        "name": {"formatted": person.name},
        "displayName": person.name,
        "active": person.is_active,
        "timezone": person.time_zone,
        "emails": emails,
        "phoneNumbers": phones,
        "groups": [{"value": str(t.pk), "display": t.name, "$ref": location("Group", t.pk)} for t in person.teams.all()],
        "meta": _meta("User", person.pk, person.created_at, person.updated_at, location),
    }
    if provisioning.EXTERNAL_ID in external:
        user["externalId"] = external[provisioning.EXTERNAL_ID]
    return user


def patchable_user(person):
    """The writable part of a User, keyed by canonical names, for PATCH to work on."""
    rendered = render_user(person, lambda *_: "")
    keep = ("userName", "externalId", "name", "displayName", "active", "timezone", "emails", "phoneNumbers")
    return {key: rendered[key] for key in keep if key in rendered}


def render_group(team, members, location):
    return {
        "schemas": [GROUP_SCHEMA],
        "id": str(team.pk),
        "displayName": team.name,
        "members": [
            {"value": str(p.pk), "display": p.name, "type": "User", "$ref": location("User", p.pk)} for p in members
        ],
        "meta": _meta("Group", team.pk, team.created_at, team.created_at, location),
    }


def group_members(team):
    return list(provisioning.scim_people().filter(teams=team).order_by("pk"))


def scim_person(pk):
    return Person.objects.filter(pk=pk, pk__in=provisioning.scim_people().values("pk")).first()
