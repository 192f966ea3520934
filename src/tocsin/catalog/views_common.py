"""What the catalogue pages may change: a service of a team in reach, and the sites shared by all."""

from tocsin.core.permissions import can
from tocsin.core.view_access import principal, reaches_every_team


def may_manage(request, service):
    return can(principal(request), "catalog:manage", service.owner_team_id)


def may_manage_sites(request):
    """Sites and regions are shared by every team: only a reach over all teams changes them."""
    return reaches_every_team(request, "catalog:manage")
