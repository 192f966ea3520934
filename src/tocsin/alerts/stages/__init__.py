"""The alert pipeline's stages: importing this package registers each of them with the pipeline."""

from . import correlation, grouping, inhibition, maintenance, peak_hours, sustain  # noqa: F401
