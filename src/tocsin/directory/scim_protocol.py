"""SCIM 2.0 protocol mechanics: request bodies, schemas, attribute paths and PATCH operations."""

import json
import re

from .scim_errors import ScimError, bad
from .scim_filter import parse_filter

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
MEDIA_TYPE = "application/scim+json"
MAX_OPERATIONS = 1000


def read_json(request):
    """The request body as a JSON object, or a 4xx that says what is wrong with it."""
    media = request.content_type or ""
    if media and media not in {MEDIA_TYPE, "application/json"}:
        raise ScimError(415, f"Send the body as {MEDIA_TYPE} (or application/json), not {media[:60]}.")
    try:
        text = request.body.decode("utf-8")
        data = json.loads(text, parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise bad("The body is not UTF-8 text.", "invalidSyntax") from None
    except (json.JSONDecodeError, ValueError) as exc:
        raise bad(f"The body is not valid JSON: {exc}.", "invalidSyntax") from None
    if not isinstance(data, dict):
        raise bad("The body must be a JSON object.", "invalidSyntax")
    return data


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON value")


def require_schemas(data, required, allowed):
    """`schemas` must name `required` and nothing beyond `allowed` (all URNs compared case-insensitively)."""
    schemas = data.get("schemas")
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        raise bad(f"'schemas' must be a list of schema URNs including {required}.", "invalidSyntax")
    known = {s.lower() for s in allowed}
    for schema in schemas:
        if schema.lower() not in known:
            raise bad(f"Unknown schema '{schema[:200]}'; supported here: {', '.join(allowed)}.", "invalidSyntax")
    if required.lower() not in {s.lower() for s in schemas}:
        raise bad(f"'schemas' must include {required}.", "invalidSyntax")


# --- attribute paths ------------------------------------------------------------

_PATH = re.compile(
    r"^(?:(?P<urn>urn:[^\[\]\s]+):)?(?P<attr>[A-Za-z][\w$-]*)(?:\[(?P<filter>[^\]]*)\])?(?:\.(?P<sub>[A-Za-z][\w$-]*))?$"
)


class Schema:
    """The attributes of one resource type that PATCH and PUT understand.
    attributes: lower-case name -> (canonical name, "simple" | "complex" | "multi", {lower sub -> canonical sub})."""

    def __init__(self, core_urn, attributes, ignored=(), extensions=(), readonly=("id", "meta", "schemas")):
        self.core_urn, self.attributes = core_urn, attributes
        self.ignored = set(ignored)
        self.extensions = {urn.lower() for urn in extensions}
        self.readonly = set(readonly)

    def attribute(self, name, where):
        lowered = name.lower()
        if lowered in self.attributes:
            return self.attributes[lowered]
        if lowered in self.ignored:
            return None
        if lowered in self.readonly:
            raise bad(f"'{name}' is read-only.", "mutability")
        raise bad(f"Unknown attribute '{name[:60]}' in {where}.", "invalidPath" if where == "path" else "invalidValue")

    def sub_attribute(self, attribute, sub):
        canonical, _kind, subs = attribute
        if sub.lower() not in subs:
            raise bad(f"'{canonical}' has no sub-attribute '{sub[:60]}'.", "invalidPath")
        return subs[sub.lower()]


class Path:
    def __init__(self, attribute=None, value_filter=(), sub=None, ignored=False, whole=False):
        self.attribute, self.value_filter, self.sub = attribute, value_filter, sub
        self.ignored, self.whole = ignored, whole

    @property
    def name(self):
        return self.attribute[0]


def parse_path(text, schema):
    if not isinstance(text, str) or not text.strip():
        raise bad("'path' must be a non-empty string.", "invalidPath")
    text = text.strip()
    if text.lower() == schema.core_urn.lower():
        return Path(whole=True)
    if text.lower() in schema.extensions:
        return Path(ignored=True)
    match = _PATH.match(text)
    if match is None:
        raise bad(f"Cannot read the path '{text[:100]}'.", "invalidPath")
    urn = match.group("urn")
    if urn is not None:
        if urn.lower() in schema.extensions:
            return Path(ignored=True)  # extension attributes (department, manager) are not stored
        if urn.lower() != schema.core_urn.lower():
            raise bad(f"Unknown schema '{urn[:120]}' in path.", "invalidPath")
    attribute = schema.attribute(match.group("attr"), "path")
    if attribute is None:
        return Path(ignored=True)
    value_filter = ()
    if match.group("filter") is not None:
        if attribute[1] != "multi":
            raise bad(f"'{attribute[0]}' is not multi-valued, so it takes no [filter].", "invalidPath")
        value_filter = tuple(
            (schema.sub_attribute(attribute, name), value) for name, value in parse_filter(match.group("filter"))
        )
    sub = match.group("sub")
    if sub is not None:
        if attribute[1] == "simple":
            raise bad(f"'{attribute[0]}' has no sub-attributes.", "invalidPath")
        sub = schema.sub_attribute(attribute, sub)
        if attribute[1] == "multi" and not value_filter:
            raise bad(f"Select the {attribute[0]} entry first, as in {attribute[0]}[type eq \"work\"].{sub}.", "invalidPath")
    return Path(attribute, value_filter, sub)


# --- PATCH ----------------------------------------------------------------------


def _matches(item, value_filter):
    if not isinstance(item, dict):
        return False
    for name, wanted in value_filter:
        have = item.get(name)
        if isinstance(have, str) and isinstance(wanted, str):
            if have.casefold() != wanted.casefold():
                return False
        elif have != wanted:
            return False
    return True


def _as_list(value, name):
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    raise bad(f"'{name}' takes a list of objects.")


def apply_patch(resource, data, schema):
    """Apply a PatchOp body to `resource` (a dict keyed by canonical attribute names).
    Returns the set of touched attributes, as 'name' or 'name.sub'."""
    require_schemas(data, PATCH_SCHEMA, [PATCH_SCHEMA])
    operations = data.get("Operations", data.get("operations"))
    if not isinstance(operations, list) or not operations:
        raise bad("'Operations' must be a non-empty list.", "invalidSyntax")
    if len(operations) > MAX_OPERATIONS:
        raise bad(f"At most {MAX_OPERATIONS} operations per request.", "tooMany")
    touched = set()
    for number, operation in enumerate(operations, 1):
        if not isinstance(operation, dict):
            raise bad(f"Operation {number} must be an object.", "invalidSyntax")
        op = operation.get("op")
        if not isinstance(op, str) or op.lower() not in {"add", "replace", "remove"}:
            raise bad(f"Operation {number}: 'op' must be add, replace or remove.", "invalidSyntax")
        op, path, value = op.lower(), operation.get("path"), operation.get("value")
        if path is None:
            if op == "remove":
                raise bad(f"Operation {number}: remove needs a 'path'.", "noTarget")
            if not isinstance(value, dict):
                raise bad(f"Operation {number}: without a 'path', 'value' must be an object of attributes.", "invalidValue")
            _apply_object(resource, op, value, schema, touched)
        else:
            target = parse_path(path, schema)
            if target.whole:
                if op == "remove" or not isinstance(value, dict):
                    raise bad(f"Operation {number}: the schema path takes an object of attributes.", "invalidValue")
                _apply_object(resource, op, value, schema, touched)
            else:
                _apply(resource, op, target, value, touched, number)
    return touched


def _apply_object(resource, op, value, schema, touched):
    for key, item in value.items():
        # Okta repeats the resource's id in a rename; read-only keys in a value object are not changes.
        if key.lower() in schema.extensions or key.lower() in schema.readonly:
            continue
        if key.lower() == schema.core_urn.lower() and isinstance(item, dict):
            _apply_object(resource, op, item, schema, touched)
            continue
        # Entra sends keys that are paths, such as "name.givenName" or 'emails[type eq "work"].value'.
        _apply(resource, op, parse_path(key, schema), item, touched, None)


def _apply(resource, op, target, value, touched, number):
    if target.ignored:
        return
    where = f"Operation {number}: " if number else ""
    name, kind = target.name, target.attribute[1]
    if op == "remove":
        touched.add(f"{name}.{target.sub}" if target.sub else name)
        if kind == "multi" and (target.value_filter or value is not None):
            items = resource.get(name) or []
            if target.value_filter and target.sub:
                keep = items
                for item in items:
                    if _matches(item, target.value_filter):
                        item.pop(target.sub, None)
            elif target.value_filter:
                keep = [i for i in items if not _matches(i, target.value_filter)]
            else:
                # Entra removes members by listing them in `value` rather than in a filter.
                doomed = [_matches_value(v) for v in _as_list(value, name)]
                keep = [i for i in items if not any(_matches(i, f) for f in doomed)]
            resource[name] = keep
        elif kind == "complex" and target.sub:
            (resource.get(name) or {}).pop(target.sub, None)
        else:
            resource.pop(name, None)
        return
    if value is None:
        raise bad(f"{where}'{name}' needs a 'value'.", "invalidValue")
    if kind == "complex" and not target.sub and isinstance(value, dict):
        value = {_sub_name(target.attribute, key): item for key, item in value.items()}
        touched.update(f"{name}.{key}" for key in value)
    else:
        touched.add(f"{name}.{target.sub}" if target.sub else name)
    if kind == "simple":
        resource[name] = value
    elif kind == "complex":
        current = resource.get(name) if isinstance(resource.get(name), dict) else {}
        if target.sub:
            current[target.sub] = value
        elif isinstance(value, dict):
            current.update(value)  # RFC 7644 3.5.2: sub-attributes not given stay as they are
        else:
            raise bad(f"{where}'{name}' takes an object.")
        resource[name] = current
    elif target.value_filter:
        items = resource.get(name) or []
        hits = [i for i in items if _matches(i, target.value_filter)]
        if not hits:
            # Entra adds "emails[type eq "work"].value" to a user who has no work address yet.
            hit = {sub: wanted for sub, wanted in target.value_filter}
            items.append(hit)
            hits = [hit]
        for hit in hits:
            if target.sub:
                hit[target.sub] = value
            elif isinstance(value, dict):
                hit.update(value)
            else:
                raise bad(f"{where}'{name}[...]' takes an object.")
        resource[name] = items
    elif op == "add":
        resource[name] = [*(resource.get(name) or []), *_as_list(value, name)]
    else:
        resource[name] = list(_as_list(value, name))


def _sub_name(attribute, key):
    canonical, _kind, subs = attribute
    if not isinstance(key, str) or key.lower() not in subs:
        raise bad(f"'{canonical}' has no sub-attribute '{str(key)[:60]}'.", "invalidPath")
    return subs[key.lower()]


def _matches_value(entry):
    if not isinstance(entry, dict) or "value" not in entry:
        raise bad("Entries to remove must be objects with a 'value'.")
    return (("value", entry["value"]),)
