"""Template context: the navigation links the signed-in user may follow."""

from tocsin.core.permissions import teams_for
from tocsin.core.view_access import principal

_LINKS = [
    ("Home", "/", None),
    ("Incidents", "/incidents/", "incidents:read"),
    ("Alerts", "/alerts/", "incidents:read"),
    ("Escalation", "/escalation/policies/", "oncall:read"),
    ("People", "/directory/people/", "contacts:read"),
    ("Roles", "/directory/roles/", "contacts:read"),
    ("Contact sheet", "/directory/sheet/", "contacts:read"),
    ("Access", "/directory/access/", "contacts:read"),
    ("Services", "/catalog/services/", "catalog:read"),
    ("On call", "/oncall/", "oncall:read"),
    ("My notifications", "/notify/rules/", None),
    ("Compliance", "/directory/compliance/", "contacts:write"),
    ("Exports", "/directory/exports/", "contacts:export"),
    ("Breaches", "/directory/breaches/", "breach:manage"),
    ("Users", "/admin/users/", "users:manage"),
    ("Teams", "/admin/teams/", "users:manage"),
    ("MFA policy", "/admin/mfa-policy/", "settings:manage"),
    ("Engine", "/admin/engine/", "settings:manage"),
    ("Providers", "/notify/providers/", "settings:manage"),
    ("Templates", "/notify/templates/", "settings:manage"),
    ("Audit log", "/audit/", "audit:read"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_links": []}
    who = principal(request)
    # Shown where the permission reaches any team: a steward's export link is for their teams.
    links = [(label, url) for label, url, perm in _LINKS if perm is None or teams_for(who, perm)]
    return {"nav_links": links}
