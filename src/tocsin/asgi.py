"""ASGI entry point: a path router that sends the ingestion fast path to lean ASGI apps and
everything else to Django."""

import importlib
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tocsin.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

# Path prefix -> "module:attribute" of an ASGI app that bypasses the Django stack.
FAST_PATHS: dict[str, str] = {
    "/v2/enqueue": "tocsin.alerts.ingest:app",
    "/integrations": "tocsin.alerts.ingest:app",
}


class PathRouter:
    """Dispatch by path prefix; answer the lifespan protocol ourselves, since Django has none."""

    def __init__(self, default, routes=None):
        self.default = default
        self.routes = sorted((routes or {}).items(), key=lambda item: -len(item[0]))

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path = scope.get("path", "")
        for prefix, app in self.routes:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                await app(scope, receive, send)
                return
        await self.default(scope, receive, send)

    @staticmethod
    async def _lifespan(receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def _load(target):
    module, attribute = target.split(":")
    return getattr(importlib.import_module(module), attribute)


def build():
    django_app = get_asgi_application()
    return PathRouter(django_app, {prefix: _load(target) for prefix, target in FAST_PATHS.items()})


application = build()
