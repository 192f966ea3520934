"""Template filters of the catalogue pages."""

from django import template

from ..durations import humanise
from ..impact import LEVEL_NAMES

register = template.Library()


@register.filter
def duration(minutes):
    return humanise(minutes)


@register.filter
def level_name(rating):
    return LEVEL_NAMES.get(rating, "")
