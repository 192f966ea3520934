"""Token buckets for the ingestion fast path: per integration key, and per client IP for failed
key attempts. In-process (each HTTP worker keeps its own), which is what a flood needs: cheap."""

import time

DEFAULT_EVENTS_PER_MINUTE = 12_000
FAILED_KEYS_PER_MINUTE = 30
MAX_BUCKETS = 50_000


class TokenBucket:
    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, per_minute, burst=None):
        self.rate = per_minute / 60.0
        self.burst = float(burst or max(1, per_minute // 6))  # ten seconds' worth
        self.tokens = self.burst
        self.stamp = time.monotonic()

    def _refill(self):
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def _wait(self, count):
        return max(1, int((count - self.tokens) / self.rate + 0.999)) if self.rate else 60

    def take(self, count=1):
        """Take `count` tokens; returns 0 when allowed, else the seconds to wait before trying again."""
        self._refill()
        if self.tokens >= count:
            self.tokens -= count
            return 0
        return self._wait(count)

    def empty(self):
        """Seconds until one token is back (0: there is one now); takes nothing."""
        self._refill()
        return 0 if self.tokens >= 1 else self._wait(1)


class Buckets:
    """Buckets by name, created on first use; forgotten wholesale if too many pile up."""

    def __init__(self):
        self._buckets = {}

    def take(self, name, per_minute, count=1):
        bucket = self._buckets.get(name)
        if bucket is None or bucket.rate != per_minute / 60.0:
            if len(self._buckets) >= MAX_BUCKETS:
                self._buckets.clear()
            bucket = self._buckets[name] = TokenBucket(per_minute, burst=max(count, per_minute // 6))
        return bucket.take(count)

    def blocked(self, name, per_minute):
        """Seconds until `name` may try again (0: not blocked), without taking a token."""
        bucket = self._buckets.get(name)
        return bucket.empty() if bucket is not None else 0


per_key = Buckets()
failed_keys = Buckets()
