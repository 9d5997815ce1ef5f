"""Background refreshes that must outlive a failing dependency: metrics read from Kafka or Redis."""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress

log = logging.getLogger(__name__)


async def repeat(name: str, interval_seconds: float, step: Callable[[], Awaitable[None]]) -> None:
    """Run `step` every `interval_seconds` until cancelled; a failed step is logged, not fatal."""
    while True:
        try:
            async with asyncio.timeout(max(interval_seconds, 10.0)):
                await step()
        except Exception as error:  # the dependency is away: keep the service up, try again
            log.warning("periodic refresh failed", extra={"task": name, "error": repr(error)})
        await asyncio.sleep(interval_seconds)


@asynccontextmanager
async def every(
    name: str, interval_seconds: float, step: Callable[[], Awaitable[None]]
) -> AsyncIterator[None]:
    """Run `step` in the background while the `async with` block runs."""
    task = asyncio.create_task(repeat(name, interval_seconds, step), name=name)
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
