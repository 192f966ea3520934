"""Directory use cases: the only code that changes directory state. One module per area;
every function runs in a transaction, takes the acting user explicitly and writes the audit log."""

from .grants import approve_grant, decide_grant, deny_grant, request_grant, revoke_grant
from .methods import add_method, mark_verified, remove_method, restore_method, update_method
from .people import (
    add_external_id,
    confirm_details,
    create_person,
    deactivate_person,
    reactivate_person,
    record_consent,
    update_person,
    withdraw_consent,
)
from .roles import assign_holder, create_role, delegate, end_delegation, end_holding
from .sites import create_region, create_site, update_region, update_site

__all__ = [
    "add_external_id", "add_method", "approve_grant", "assign_holder", "confirm_details", "create_person",
    "create_role", "deactivate_person", "decide_grant", "delegate", "deny_grant", "end_delegation", "end_holding",
    "mark_verified", "reactivate_person", "record_consent", "remove_method", "request_grant", "restore_method", "revoke_grant",
    "update_method", "update_person", "withdraw_consent",
    "create_region", "create_site", "update_region", "update_site",
]
