"""Template tags for links to the HR import pages, shown only to those who may follow them."""

from django import template

from tocsin.core.permissions import ALL_TEAMS, teams_for
from tocsin.core.view_access import principal

register = template.Library()


@register.simple_tag(takes_context=True)
def import_links(context):
    """{'import': may import the whole HR file, 'conflicts': may resolve some, 'export': may export some}."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return {}
    who = principal(request)
    write = teams_for(who, "contacts:write")
    return {"import": write == ALL_TEAMS, "conflicts": bool(write), "export": bool(teams_for(who, "contacts:export"))}
