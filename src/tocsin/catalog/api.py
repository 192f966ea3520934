"""catalog JSON API."""

from ninja import Router

router = Router(tags=["catalog"])
