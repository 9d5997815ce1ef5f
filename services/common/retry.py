"""Processing a batch so that outages are waited out and one bad item cannot stall the rest.

- A transient error (Redis or Kafka unreachable, a timeout) is retried with capped exponential
  backoff for as long as it lasts: nothing is dead-lettered because a dependency is down.
- Any other error splits the batch in halves until the item that fails is alone; that item is
  retried a few times and then handed to `give_up` (the dead-letter topic), and the partition
  moves on.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TypeVar

from aiokafka.errors import KafkaError, KafkaTimeoutError
from redis.exceptions import ClusterDownError, MasterDownError, ReadOnlyError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

T = TypeVar("T")

_TRANSIENT = (
    RedisConnectionError,
    RedisTimeoutError,
    # A Redis failover under way: the old master refuses writes, or the cluster has a slot
    # without a master until a replica takes over.
    ReadOnlyError,
    ClusterDownError,
    TryAgainError,
    MasterDownError,
    KafkaTimeoutError,
    TimeoutError,
    ConnectionError,
)


def is_transient(error: BaseException) -> bool:
    """A dependency that is down or slow, as opposed to an error that repeating cannot fix."""
    if isinstance(error, _TRANSIENT):
        return True
    return isinstance(error, KafkaError) and bool(getattr(error, "retriable", False))


def describe(error: BaseException) -> str:
    """The error's type and message (redis-py's repr gives only a category)."""
    return f"{type(error).__name__}: {error}"


ATTEMPTS_PER_ITEM = 3
MAX_BACKOFF_SECONDS = 5.0


def backoff_seconds(attempt: int, base: float = 0.2) -> float:
    return float(min(base * 2**attempt, MAX_BACKOFF_SECONDS))


async def process_isolating(
    items: Sequence[T],
    handle: Callable[[list[T]], Awaitable[None]],
    give_up: Callable[[T, BaseException], Awaitable[None]],
    *,
    attempts_per_item: int = ATTEMPTS_PER_ITEM,
    base_delay: float = 0.2,
) -> None:
    """Run `handle(items)`; see the module docstring for what happens on errors."""
    if not items:
        return
    failures = outages = 0
    while True:
        try:
            await handle(list(items))
            return
        except Exception as error:
            if is_transient(error):
                log.warning("dependency unavailable; retrying", extra={"error": describe(error)})
                await asyncio.sleep(backoff_seconds(outages, base_delay))
                outages += 1
                continue
            if len(items) > 1:
                middle = len(items) // 2
                for half in (items[:middle], items[middle:]):
                    await process_isolating(
                        half,
                        handle,
                        give_up,
                        attempts_per_item=attempts_per_item,
                        base_delay=base_delay,
                    )
                return
            failures += 1
            if failures >= attempts_per_item:
                log.error("giving up on an item", extra={"error": describe(error)})
                await retry_transient(partial(give_up, items[0], error), base_delay)
                return
            await asyncio.sleep(backoff_seconds(failures, base_delay))


async def retry_transient(action: Callable[[], Awaitable[None]], base_delay: float = 0.2) -> None:
    """Run `action`, waiting out transient errors."""
    outages = 0
    while True:
        try:
            await action()
            return
        except Exception as error:
            if not is_transient(error):
                raise
            log.warning("dependency unavailable; retrying", extra={"error": describe(error)})
            await asyncio.sleep(backoff_seconds(outages, base_delay))
            outages += 1
