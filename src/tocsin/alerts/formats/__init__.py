"""Payload formats: each turns one request body into normalised events.

A format is `parse(body, integration, size) -> list[Event]`, raising InvalidEvent; `integration`
is the cached IntegrationInfo (its options carry mappings and defaults)."""

import importlib

FORMATS = {}


def register(name, kinds):
    """Declare `parse` as the format served at /integrations/<key>/<name> for integrations of `kinds`."""
    def decorate(parse):
        FORMATS[name] = (parse, frozenset(kinds))
        return parse
    return decorate


def load():
    """Import every format, so that each registers its endpoint."""
    for module in ("events_v2", "alertmanager", "grafana", "webhook"):
        importlib.import_module(f"{__name__}.{module}")
