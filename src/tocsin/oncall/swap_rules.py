"""Who may answer a shift swap: one rule for the pages and the JSON API."""

from tocsin.core.permissions import can

ACTIONS = ("accept", "decline", "cancel")


def may_answer(principal, swap, action):
    """Whether `principal` may `action` the swap (with its schedule, requester and counterpart loaded).
    Accept or decline: the counterpart's own user. Cancel: the requester's own user, or whoever
    asked for the swap (requested_by), such as a manager acting for them. A holder of
    oncall:manage for the schedule's team may do any of them."""
    if action not in ACTIONS:
        raise ValueError(f"unknown swap action {action!r}")
    user = principal.user
    if user is not None and user.is_active:
        if action == "cancel":
            own = user.pk in (swap.requester.user_id, swap.requested_by_id)
        else:
            own = swap.counterpart.user_id == user.pk
        if own:
            return True
    return can(principal, "oncall:manage", swap.schedule.team_id)
