"""Payload formats: each turns one request body into normalised events.

A format is `parse(body, integration, size) -> list[Event]`, raising InvalidEvent; `integration`
is the cached IntegrationInfo (its options carry mappings and defaults)."""

FORMATS = {}


def register(name, kinds):
    """Declare `parse` as the format served at /integrations/<key>/<name> for integrations of `kinds`."""
    def decorate(parse):
        FORMATS[name] = (parse, frozenset(kinds))
        return parse
    return decorate


def load():
    from . import events_v2  # noqa: F401
    for module in ("alertmanager", "grafana", "webhook"):
        try:
            __import__(f"{__name__}.{module}")
        except ModuleNotFoundError as exc:  # a format not written yet
            if exc.name != f"{__name__}.{module}":
                raise
