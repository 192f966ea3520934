"""Per-provider pacing (EC5): a token bucket for a provider's rate limit and a cap on sends at once,
driven here by a clock of the test's own (no timing assertions)."""

import asyncio

from tocsin.notify import throttle


class FakeTime:
    """time.monotonic and asyncio.sleep for the gate: sleeping moves the clock, nothing waits."""

    def __init__(self):
        self.now, self.slept = 1000.0, []

    def monotonic(self):
        return self.now

    async def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_a_rate_limit_spaces_the_sends_at_its_rate(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(throttle.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(throttle.asyncio, "sleep", fake.sleep)
    gate = throttle.Gate(per_minute=60)  # one a second, a burst of one
    sent_at = []

    async def send_five():
        for _ in range(5):
            async with gate:
                sent_at.append(fake.now)

    asyncio.run(send_five())
    assert [round(t - sent_at[0], 6) for t in sent_at] == [0, 1, 2, 3, 4]


def test_without_a_limit_nothing_waits(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(throttle.asyncio, "sleep", fake.sleep)

    async def send_many():
        for _ in range(100):
            async with throttle.Gate():
                pass

    asyncio.run(send_many())
    assert fake.slept == []


def test_calls_at_once_are_capped():
    gate = throttle.Gate(concurrent=2)
    at_once, most = 0, 0

    async def call():
        nonlocal at_once, most
        async with gate:
            at_once += 1
            most = max(most, at_once)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            at_once -= 1

    async def cascade():
        await asyncio.gather(*(call() for _ in range(10)))

    asyncio.run(cascade())
    assert most == 2
