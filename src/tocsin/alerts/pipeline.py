"""What becomes of a new alert: the stages the processor asks, in order, before it pages.

A stage is `decide(alert, settings, now) -> Decision | None`; the first Decision wins. None from
every stage means: open an incident. Stages live in their own modules and register here."""

from dataclasses import dataclass
from datetime import datetime

ORDER = ("maintenance", "inhibition", "peak_hours", "sustain", "correlation", "grouping", "flood")
_stages = {}


@dataclass
class Decision:
    handling: str  # an Alert.HANDLINGS value other than new and paged
    reason: str
    incident: object = None  # grouped or correlated: the incident the alert joins
    recheck_at: datetime | None = None  # held: when to look again


def stage(name):
    if name not in ORDER:
        raise ValueError(f"unknown alert pipeline stage '{name}'")

    def register(decide):
        _stages[name] = decide
        return decide
    return register


def decide(alert, settings, now):
    for name in ORDER:
        decide_stage = _stages.get(name)
        if decide_stage is not None:
            decision = decide_stage(alert, settings, now)
            if decision is not None:
                return decision
    return None
