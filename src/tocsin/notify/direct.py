"""One message sent now, outside the dispatcher and its attempts: a provider's test send, a
verification code, an on-call reminder, a synthetic check, a post to a service's chat channel."""

import asyncio
import time

import httpx

from .send_loop import SEND_TIMEOUT
from .providers.base import DELIVERED, SENT, TIMEOUT
from .providers.safety import without_contacts


async def _through(provider, message, client, timeout):
    started = time.monotonic()
    outcome = await asyncio.wait_for(provider.send(message, client), timeout)
    return outcome, int((time.monotonic() - started) * 1000)


def send(provider, message, timeout=SEND_TIMEOUT):
    """(outcome, milliseconds the provider took) of one send through `provider`. A timeout or a
    connection error is raised, as the caller may read it as it needs."""
    async def run():
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            return await _through(provider, message, client, timeout)

    return asyncio.run(run())


def first_taker(candidates, message, channel):
    """(name of the provider that took `message`, '') trying `candidates` in order as the
    dispatcher does, else ('', what went wrong with each, contact data masked)."""
    if not candidates:
        return "", f"no provider is configured for {channel}"

    async def run():
        problems = []
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            for provider in candidates:
                try:
                    outcome, _ = await _through(provider, message, client, SEND_TIMEOUT)
                except (TimeoutError, httpx.HTTPError, OSError) as exc:
                    problems.append(f"{provider.config.name}: {type(exc).__name__}")
                    continue
                if outcome.status in (SENT, DELIVERED):
                    return provider.config.name, ""
                problems.append(f"{provider.config.name}: {outcome.error}")
        return "", "; ".join(problems)

    provider, problem = asyncio.run(run())
    return provider, without_contacts(problem)[:300]
