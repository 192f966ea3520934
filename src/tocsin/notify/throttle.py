"""Per-provider pacing inside the sending loop: a token bucket for the provider's rate limit and a
cap on sends (voice calls) at once, so that a cascade does not congest the provider."""

import asyncio
import time


class Gate:
    def __init__(self, per_minute=0, concurrent=0):
        self.rate = per_minute / 60 if per_minute else 0
        self.tokens = float(max(1, per_minute // 60)) if per_minute else 0.0
        self.capacity = self.tokens
        self.stamp = time.monotonic()
        self.slots = asyncio.Semaphore(concurrent) if concurrent else None

    async def __aenter__(self):
        if self.slots is not None:
            await self.slots.acquire()
        while self.rate:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                break
            await asyncio.sleep((1 - self.tokens) / self.rate)
        return self

    async def __aexit__(self, *exc):
        if self.slots is not None:
            self.slots.release()


class Gates:
    """One gate per provider name, made on first use from the provider's settings."""

    def __init__(self):
        self._gates = {}

    def of(self, name, per_minute, concurrent):
        key = (name, per_minute, concurrent)
        if key not in self._gates:
            self._gates[key] = Gate(per_minute, concurrent)
        return self._gates[key]
