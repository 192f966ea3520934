"""The whole stack for browser tests that need streaming: `tocsin serve` (ASGI, with its engine) on
a file SQLite database, set up through the `tocsin` command and the JSON API like an operator would."""

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.server import Served, environment, tocsin

WORK_ROOT = Path("/tmp/tocsin-e2e")
ADMIN = "admin"
PASSWORD = "escalate-e2e-password-42"
# What the setup needs from the API; contacts:write is interactive, so a token must be given it by name.
SCOPES = ("users:manage", "contacts:read", "contacts:write", "catalog:read", "catalog:manage")


class ServedInRange(Served):
    """`tocsin serve` whose log can be shown when a test fails."""

    def tail(self, chars=30_000):
        return self.output()[-chars:]


@dataclass
class Stack:
    server: ServedInRange
    team: str  # slug
    people: dict  # name -> person id
    service: int


def workdir():
    WORK_ROOT.mkdir(exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="stack-", dir=WORK_ROOT))


def prepare(path):
    """A migrated database with an administrator; returns the environment and an API token."""
    env = environment(path)
    # Set by the browser fixture for this process's ORM; the server must run as it does in production.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    tocsin(env, "migrate")
    tocsin(env, "createadmin", "--username", ADMIN, "--password", PASSWORD)
    scopes = [arg for scope in SCOPES for arg in ("--scope", scope)]
    created = tocsin(env, "token", "create", "--user", ADMIN, "--name", "e2e setup", *scopes).stdout
    return env, created.split()[-1]


def _created(response):
    assert response.status_code == 201, f"{response.request.method} {response.request.url}: " \
                                         f"{response.status_code} {response.text[:500]}"
    return response.json()


def populate(base, token, *, team, people, service):
    """A team, its people and a service owned by it, through /api/v1."""
    with httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        slug = _created(api.post("/teams", json={"name": team}))["slug"]
        ids = {name: _created(api.post("/directory/people", json={"name": name, "teams": [slug]}))["id"]
               for name in people}
        service_id = _created(api.post("/services", json={"name": service, "owner_team": slug, "tier": 2}))["id"]
    return slug, ids, service_id


def cleanup(path):
    shutil.rmtree(path, ignore_errors=True)
