"""SCIM filters: the supported subset (eq joined by and) and the queries it becomes, via blind indexes."""

import json
import re

from django.core.exceptions import ValidationError

from tocsin.core.models import Team

from .models import ContactMethod, ExternalId, Person
from .scim_errors import bad
from .services import provisioning
from .values import index_for, normalise

MAX_FILTER_LENGTH = 1000


def resource_pk(resource_id):
    """The primary key a SCIM id names, or None: ids are decimal strings of a row's pk."""
    return int(resource_id) if resource_id.isascii() and resource_id.isdigit() and len(resource_id) < 19 else None


_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|\(|\)|\[|\]|[^\s()\[\]"]+)')
_ATTR_PATH = re.compile(r"^(?:urn:[^\s\[\]]+:)?[A-Za-z][\w$-]*(?:\.[A-Za-z][\w$-]*)?$")
_OPERATORS = {"eq", "ne", "co", "sw", "ew", "pr", "gt", "ge", "lt", "le"}


def _tokens(text):
    position, tokens = 0, []
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise bad(f"Cannot read the filter near '{text[position:position + 30]}'.", "invalidFilter")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _literal(token):
    if token.startswith('"'):
        try:
            return json.loads(token)
        except json.JSONDecodeError:
            raise bad(f"The filter value {token[:60]} is not a valid string.", "invalidFilter") from None
    lowered = token.lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    if lowered == "null":
        return None
    if re.fullmatch(r"-?\d+(\.\d+)?", token):
        return json.loads(token)
    raise bad(f"The filter value '{token[:60]}' must be a quoted string, a number, true, false or null.", "invalidFilter")


def parse_filter(text):
    """A filter of `attribute eq value` comparisons joined by `and`: [(attribute, value), ...].
    Anything richer is refused with a detail saying what this server supports."""
    if len(text) > MAX_FILTER_LENGTH:
        raise bad(f"The filter is longer than {MAX_FILTER_LENGTH} characters.", "invalidFilter")
    tokens = _tokens(text)
    if not tokens:
        raise bad("The filter is empty.", "invalidFilter")
    if any(token in {"(", ")", "[", "]"} or token.lower() == "not" for token in tokens):
        raise bad("Grouping, 'not' and value filters in brackets are not supported; use eq joined by and.", "invalidFilter")
    comparisons, index = [], 0
    while True:
        if index + 3 > len(tokens):
            raise bad("A filter is 'attribute eq \"value\"', optionally joined by 'and'.", "invalidFilter")
        attribute, operator, value = tokens[index:index + 3]
        if not _ATTR_PATH.match(attribute):
            raise bad(f"'{attribute[:60]}' is not an attribute name.", "invalidFilter")
        if operator.lower() not in _OPERATORS:
            raise bad(f"'{operator[:30]}' is not a filter operator.", "invalidFilter")
        if operator.lower() != "eq":
            raise bad(f"The '{operator.lower()}' operator is not supported; {_ONLY_EQ}.", "invalidFilter")
        comparisons.append((attribute, _literal(value)))
        index += 3
        if index == len(tokens):
            return comparisons
        if tokens[index].lower() == "or":
            raise bad(f"'or' is not supported; {_ONLY_EQ}.", "invalidFilter")
        if tokens[index].lower() != "and":
            raise bad(f"Expected 'and' after a comparison, found '{tokens[index][:30]}'.", "invalidFilter")
        index += 1


_ONLY_EQ = "this server filters with eq joined by and"


def _external(source, value):
    # userName's case folding happens inside the lookup key.
    return ExternalId.objects.filter(source=source, value=provisioning.lookup_key(source, value)).values("person_id")


def filter_people(text):
    """SCIM people matching the filter; userName compares case-insensitively as RFC 7643 says."""
    people = provisioning.scim_people()
    for attribute, value in parse_filter(text):
        key = attribute.lower().removeprefix("urn:ietf:params:scim:schemas:core:2.0:user:")
        if key not in {"username", "externalid", "emails.value", "id"}:
            raise bad(
                f"Filtering Users on '{attribute[:60]}' is not supported; use userName, externalId, emails.value or id.",
                "invalidFilter",
            )
        if not isinstance(value, str):
            raise bad(f"Filter on '{attribute}' needs a quoted string.", "invalidFilter")
        if key == "username":
            people = people.filter(pk__in=_external(provisioning.USER_NAME, value))
        elif key == "externalid":
            people = people.filter(pk__in=_external(provisioning.EXTERNAL_ID, value))
        elif key == "id":
            people = people.filter(pk=resource_pk(value)) if resource_pk(value) is not None else people.none()
        else:
            people = people.filter(pk__in=_by_email(value))
    return people


def _by_email(value):
    """People whose SCIM-managed e-mail is `value`, found through the blind index, never by decrypting."""
    try:
        digest = index_for(ContactMethod.EMAIL, normalise(ContactMethod.EMAIL, value))
    except ValidationError:
        return Person.objects.none().values("pk")
    return ContactMethod.objects.filter(
        person__isnull=False, label=provisioning.MANAGED_LABEL,
        kind__in=[ContactMethod.EMAIL, ContactMethod.ALT_EMAIL], value_index=digest,
    ).values("person_id")


def filter_teams(text):
    teams = Team.objects.all()
    for attribute, value in parse_filter(text):
        key = attribute.lower().removeprefix("urn:ietf:params:scim:schemas:core:2.0:group:")
        if key not in {"displayname", "id"}:
            raise bad(f"Filtering Groups on '{attribute[:60]}' is not supported; use displayName or id.", "invalidFilter")
        if not isinstance(value, str):
            raise bad(f"Filter on '{attribute}' needs a quoted string.", "invalidFilter")
        if key == "displayname":
            teams = teams.filter(name__iexact=value)
        else:
            teams = teams.filter(pk=resource_pk(value)) if resource_pk(value) is not None else teams.none()
    return teams
