"""On-call JSON API."""

from ninja import Router

from .api_calendar import router as calendar_router

router = Router(tags=["oncall"])
router.add_router("", calendar_router)
