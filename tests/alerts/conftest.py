"""Fixtures for alert ingestion: a service, integrations, and a client for the ASGI fast path.

The fast path's writer commits from a thread of its own, so tests that post through it use the
`transactional_db` (via `ingest`), not a test-wide transaction."""

import asyncio

import httpx
import pytest

from tocsin.alerts import limits, lookup, routing, services
from tocsin.alerts.ingest import app
from tocsin.alerts.processing import process
from tocsin.catalog import services as catalog
from tocsin.core import audit

SYSTEM = audit.Actor.system("test")


@pytest.fixture(autouse=True)
def _fresh_fast_path_state():
    lookup.forget()
    routing.forget()
    limits.per_key._buckets.clear()
    limits.failed_keys._buckets.clear()
    yield
    lookup.forget()
    routing.forget()


@pytest.fixture
def make_service(make_team):
    def make(name="Payments", team="Platform", **fields):
        owner = make_team(team)
        return catalog.create_service(actor=SYSTEM, source="cli", name=name, kind=fields.pop("kind", "technical"),
                                      owner_team=owner, tier=fields.pop("tier", 2), **fields)
    return make


@pytest.fixture
def service(make_service):
    return make_service()


@pytest.fixture
def integration(service):
    """make(kind="events-v2", service=…, **options) -> (integration, key)"""
    def make(kind="events-v2", on=service, name="", **options):
        return services.create_integration(on, kind, actor=SYSTEM, name=name, options=options)
    return make


class FastPath:
    """Posts to the ingestion ASGI app in process, one request at a time."""

    def __init__(self):
        self.transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))

    def request(self, method, path, **kwargs):
        async def go():
            async with httpx.AsyncClient(transport=self.transport, base_url="http://tocsin.test") as client:
                return await client.request(method, path, **kwargs)
        return asyncio.run(go())

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)


@pytest.fixture
def ingest(transactional_db):
    return FastPath()


@pytest.fixture
def processed():
    """Run the alert processor as the engine would, until nothing is left."""
    def run(now=None):
        from django.utils import timezone
        while process(now or timezone.now()):
            pass
    return run
