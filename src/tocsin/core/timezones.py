"""Time-zone names as users give them: known IANA zones only, with an error that names the bad one."""

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError


@lru_cache(maxsize=None)
def _known_zones():
    return frozenset(available_timezones()) | {"UTC"}


def zone(name, field=None):
    """The ZoneInfo for `name`, or a ValidationError naming it (under `field` when given).
    Only zones in the IANA list count: ZoneInfo would also open stray files such as 'localtime'."""
    message = f"Unknown time zone '{str(name)[:64]}'."
    if not isinstance(name, str) or name not in _known_zones():
        raise ValidationError({field: message} if field else message, code="time_zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError({field: message} if field else message, code="time_zone") from None


def zone_names():
    return sorted(_known_zones())
