"""oncall JSON API."""

from ninja import Router

router = Router(tags=["oncall"])
