"""On-call JSON API for calendar import and feeds."""

from ninja import Router

router = Router(tags=["oncall"])
