"""Live queue changes for open desks: RedisClient pub/sub per tenant, served as server-sent events.

Pub/sub is fire-and-forget, which is what a live view needs: a desk that misses an event
shows the change on its next reload, and nothing depends on an event being delivered.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

from services.common import redis_keys
from services.common.contract import CommentModerated
from services.common.redis_client import RedisClient

HEARTBEAT_SECONDS = 15.0


async def notify(redis: RedisClient, tenant: str, event: dict[str, Any]) -> None:
    await redis.publish(redis_keys.desk_events(tenant), json.dumps(event))


async def verdict_applied(redis: RedisClient, decision: CommentModerated, outcome: str) -> None:
    """Every applied verdict: a held comment appears on open desks, a decided one leaves."""
    await notify(
        redis,
        decision.tenant_id,
        {
            "type": "verdict",
            "comment_id": decision.comment_id,
            "verdict": decision.verdict.value,
            "outcome": outcome,
            "decided_by": decision.decided_by,
        },
    )


async def stream(
    redis: RedisClient, tenants: Iterable[str], *stops: asyncio.Event
) -> AsyncIterator[str]:
    """SSE frames for the tenants' events, with a comment line as heartbeat, until any of
    `stops` is set (the desk went away, or the server is stopping)."""
    channels = [redis_keys.desk_events(t) for t in tenants]
    pubsub = redis.pubsub()
    await pubsub.subscribe(*channels)
    try:
        yield "retry: 2000\n\n"
        waited = 0.0
        while not any(stop.is_set() for stop in stops):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None:
                waited += 1.0
                if waited >= HEARTBEAT_SECONDS:
                    waited = 0.0
                    yield ": keep-alive\n\n"
                continue
            waited = 0.0
            data = message["data"]
            yield f"data: {data.decode() if isinstance(data, bytes) else data}\n\n"
    finally:
        await pubsub.unsubscribe(*channels)
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
