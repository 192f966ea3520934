"""SCIM discovery documents: what this service provider supports (RFC 7643 sections 5-7)."""

from django.urls import reverse

from .scim_errors import ScimError
from .scim_protocol import LIST_SCHEMA
from .scim_resources import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA

SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"


def _url(request, name, *args):
    return request.build_absolute_uri(reverse(name, args=args))


def service_provider_config(request, max_results):
    return {
        "schemas": [SPC_SCHEMA],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": max_results},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Tocsin API token",
                "description": "A Tocsin API token with the contacts:write scope, of an administrator.",
                "primary": True,
            }
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": _url(request, "scim-spc")},
    }


def _resource_types(request):
    return {
        "User": {
            "schemas": [RESOURCE_TYPE_SCHEMA], "id": "User", "name": "User", "endpoint": "/Users",
            "description": "A person Tocsin can reach", "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": False}],
            "meta": {"resourceType": "ResourceType", "location": _url(request, "scim-resource-type", "User")},
        },
        "Group": {
            "schemas": [RESOURCE_TYPE_SCHEMA], "id": "Group", "name": "Group", "endpoint": "/Groups",
            "description": "A Tocsin team", "schema": GROUP_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": _url(request, "scim-resource-type", "Group")},
        },
    }


def _listing(items):
    return {"schemas": [LIST_SCHEMA], "totalResults": len(items), "startIndex": 1, "itemsPerPage": len(items), "Resources": items}


def resource_types(request, name=None):
    types = _resource_types(request)
    if name is None:
        return _listing(list(types.values()))
    if name not in types:
        raise ScimError(404, f"No resource type '{name[:40]}'; there are User and Group.")
    return types[name]


def _attr(name, kind="string", *, multi=False, required=False, mutability="readWrite", returned="default",
          uniqueness="none", case_exact=False, subs=None, description=""):
    attribute = {
        "name": name, "type": kind, "multiValued": multi, "description": description or name, "required": required,
        "caseExact": case_exact, "mutability": mutability, "returned": returned, "uniqueness": uniqueness,
    }
    if subs:
        attribute["subAttributes"] = subs
    return attribute


def _multi(name, types, description):
    return _attr(name, "complex", multi=True, description=description, subs=[
        _attr("value"), _attr("type", description=f"One of {', '.join(types)}"), _attr("primary", "boolean"),
    ])


def _schemas(request):
    user = [
        _attr("userName", required=True, uniqueness="server", description="Unique, case-insensitive"),
        _attr("name", "complex", subs=[_attr("formatted"), _attr("givenName"), _attr("familyName")],
              description="Stored as one name: displayName, else formatted, else givenName familyName"),
        _attr("displayName"),
        _attr("active", "boolean", description="false deactivates: roles end, methods stop; never deleted"),
        _attr("timezone", description="IANA time zone such as Europe/Berlin"),
        _multi("emails", ["work", "other"], "work -> e-mail, other -> alternate e-mail; home is not stored"),
        _multi("phoneNumbers", ["mobile", "work"], "mobile -> SMS, work -> voice; home, fax, pager are not stored"),
        _attr("groups", "complex", multi=True, mutability="readOnly",
              subs=[_attr("value", mutability="readOnly"), _attr("display", mutability="readOnly")]),
    ]
    group = [
        _attr("displayName", required=True, uniqueness="server"),
        _attr("members", "complex", multi=True,
              subs=[_attr("value", mutability="immutable"), _attr("display", mutability="readOnly")]),
    ]
    enterprise = [_attr("department", description="Accepted and not stored")]
    documents = {}
    for urn, name, attributes in (
        (USER_SCHEMA, "User", user), (GROUP_SCHEMA, "Group", group), (ENTERPRISE_SCHEMA, "EnterpriseUser", enterprise)
    ):
        documents[urn] = {
            "schemas": [SCHEMA_SCHEMA], "id": urn, "name": name, "attributes": attributes,
            "meta": {"resourceType": "Schema", "location": _url(request, "scim-schema", urn)},
        }
    return documents


def schemas(request, urn=None):
    documents = _schemas(request)
    if urn is None:
        return _listing(list(documents.values()))
    for key, document in documents.items():
        if key.lower() == urn.lower():
            return document
    raise ScimError(404, f"No schema '{urn[:120]}'.")
