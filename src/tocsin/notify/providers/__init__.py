"""Provider implementations, looked up by `Provider.kind` (see base.register)."""

import importlib

MODULES = ("email", "twilio", "sms_gateway", "slack", "teams", "webhook", "apprise")


def load():
    """Import every provider module, so that each registers its kind with base.build."""
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
