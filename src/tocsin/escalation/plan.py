"""The timing of an escalation, pure: given where it stands, when the next step is and what it is.

A tier's delay is its acknowledgement window. Inside the window, follow-ups re-notify the same
people every `follow_up` minutes; when the window ends the next tier starts. After the last tier
the policy repeats `repeat` times, and then the final fallback is paged."""

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Timing:
    delays: tuple  # minutes per tier
    follow_up: int  # minutes; 0 means no follow-up
    repeat: int

    @property
    def fallback_tier(self):
        return len(self.delays)


@dataclass(frozen=True)
class Position:
    cycle: int
    tier: int
    follow_up: int = 0


def next_tier(position, timing):
    """The position after `position`'s tier: the next tier, the first tier again, or the fallback."""
    if position.tier + 1 < len(timing.delays):
        return Position(position.cycle, position.tier + 1)
    if position.cycle < timing.repeat:
        return Position(position.cycle + 1, 0)
    return Position(position.cycle, timing.fallback_tier)


def after(position, tier_started_at, timing):
    """(next position, when) after the step at `position` of a tier that started at `tier_started_at`."""
    window_ends = tier_started_at + timedelta(minutes=timing.delays[position.tier])
    if timing.follow_up:
        follow_up_at = tier_started_at + timedelta(minutes=timing.follow_up * (position.follow_up + 1))
        if follow_up_at < window_ends:
            return Position(position.cycle, position.tier, position.follow_up + 1), follow_up_at
    return next_tier(position, timing), window_ends


def timing_of(spec, exception=None):
    """The policy's timing, changed by an approved legacy exception of the service (C4): its
    escalation delay replaces every tier's delay, its acknowledgement window the follow-up."""
    delays = tuple(tier.delay_minutes for tier in spec.tiers)
    follow_up = spec.follow_up_minutes
    if exception is not None:
        if exception.escalate_after_minutes:
            delays = tuple(exception.escalate_after_minutes for _ in delays)
        if exception.ack_minutes:
            follow_up = exception.ack_minutes
    return Timing(delays, follow_up, spec.repeat)
