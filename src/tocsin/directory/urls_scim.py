"""Routes of the SCIM 2.0 provisioning endpoint, mounted at /scim/v2/."""

from django.urls import path, re_path

from . import scim

_ROUTES = [
    ("ServiceProviderConfig", scim.service_provider_config, "scim-spc"),
    ("ResourceTypes", scim.resource_types, "scim-resource-types"),
    ("ResourceTypes/<str:name>", scim.resource_types, "scim-resource-type"),
    ("Schemas", scim.schemas, "scim-schemas"),
    ("Schemas/<str:urn>", scim.schemas, "scim-schema"),
    ("Users", scim.users, "scim-users"),
    ("Users/<str:resource_id>", scim.user, "scim-user"),
    ("Groups", scim.groups, "scim-groups"),
    ("Groups/<str:resource_id>", scim.group, "scim-group"),
]

# Identity providers differ on trailing slashes, so both forms reach the same view.
urlpatterns = [
    *(path(route, view, name=name) for route, view, name in _ROUTES),
    *(path(f"{route}/", view) for route, view, _name in _ROUTES),
    re_path(r"^.*$", scim.not_found),
]
