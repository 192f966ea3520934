"""The alert pipeline's stages: importing this package registers each of them with the pipeline."""

from importlib import import_module

from . import maintenance, peak_hours, sustain

__all__ = ["maintenance", "peak_hours", "sustain"]

# Inhibition, correlation and grouping register the same way; a missing module is skipped so the
# stages above keep working until those exist, but any other import error is raised.
for _name in ("inhibition", "correlation", "grouping"):
    try:
        import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as missing:
        if missing.name != f"{__name__}.{_name}":
            raise
    else:
        __all__.append(_name)
