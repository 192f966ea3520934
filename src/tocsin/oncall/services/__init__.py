"""On-call use cases, the only code that changes schedules, layers, overrides, swaps and feeds."""

# Each use case validates everything before writing (nothing partial is saved), runs in a
# transaction, takes the acting user explicitly and records the change in the audit log and
# history. Callers keep using `services.<name>`; the modules below hold one subject each.

from .calendars import create_feed, import_calendar_layer, revoke_feed
from .layers import (
    EARLIEST_DATE, LATEST_DATE, LAYER_FIELDS, MAX_LAYERS, MAX_LEVEL, MAX_PARTICIPANTS, MAX_SHIFT_HOURS, add_layer,
    check_level, remove_layer, update_layer,
)
from .overrides import add_override, remove_override
from .schedules import create_schedule, delete_schedule, update_schedule
from .swaps import accept_swap, cancel_swap, decline_swap, request_swap

__all__ = [
    "EARLIEST_DATE", "LATEST_DATE", "LAYER_FIELDS", "MAX_LAYERS", "MAX_LEVEL", "MAX_PARTICIPANTS", "MAX_SHIFT_HOURS",
    "accept_swap", "add_layer", "add_override", "cancel_swap", "check_level", "create_feed", "create_schedule",
    "decline_swap", "delete_schedule", "import_calendar_layer", "remove_layer", "remove_override", "request_swap",
    "revoke_feed", "update_layer", "update_schedule",
]
