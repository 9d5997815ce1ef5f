"""The delivery schedule and log against a real Redis."""

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from services.common import redis_keys
from services.webhooks.config import EventType
from services.webhooks.deliveries import Delivery, DeliveryStore, Status, delivery_id


def delivery(tenant: str, n: int, at: datetime) -> Delivery:
    event = f"evt_{n}"
    url = "http://127.0.0.1:9/hook"
    return Delivery(
        id=delivery_id(event, url),
        tenant_id=tenant,
        event_id=event,
        event_type=EventType.VERDICT,
        url=url,
        payload="{}",
        created_at=at,
    )


async def test_the_log_pages_newest_first_without_gaps_or_repeats(
    redis: Redis, tenant: str
) -> None:
    store = DeliveryStore(redis, [1.0], 0.0)
    start = datetime.now(UTC)
    made = [delivery(tenant, n, start + timedelta(milliseconds=n)) for n in range(5)]
    for item in made:
        assert await store.enqueue(item)
    assert not await store.enqueue(made[0])  # the same event and endpoint again: nothing new
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        page, cursor = await store.page(tenant, 2, cursor)
        seen += [d.event_id for d in page]
    assert cursor is None
    assert seen == [f"evt_{n}" for n in reversed(range(5))]


async def test_a_claimed_delivery_is_leased_and_leaves_the_schedule_when_done(
    redis: Redis, tenant: str
) -> None:
    store = DeliveryStore(redis, [60.0], 0.0)
    item = delivery(tenant, 1, datetime.now(UTC) - timedelta(seconds=1))
    await store.enqueue(item)
    claimed = await store.claim(100, lease_seconds=30)
    assert (tenant, item.id) in claimed
    assert (tenant, item.id) not in await store.claim(100, lease_seconds=30)
    loaded = await store.get(tenant, item.id)
    assert loaded is not None
    retry = await store.record(loaded, 500, 3.0, "HTTP 500")
    assert retry.next_retry_at is not None
    assert retry.next_retry_at - retry.at >= timedelta(seconds=60)
    loaded = await store.get(tenant, item.id)
    assert loaded is not None
    await store.record(loaded, 204, 2.0, None)
    final = await store.get(tenant, item.id)
    assert final is not None
    assert final.status is Status.SUCCEEDED
    due = redis_keys.webhook_due(redis_keys.shard(tenant))
    assert await redis.zscore(due, f"{tenant}/{item.id}") is None
