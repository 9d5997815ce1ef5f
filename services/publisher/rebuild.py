"""Rebuild the publisher's Redis views by replaying comments.moderated from the beginning.

The views are idempotent and the latest verdict wins, so replaying into a live Redis changes
nothing and replaying into an empty one restores every feed, queue and comment state.
"""

from collections import Counter

from pydantic import ValidationError

from services.common.contract import CommentModerated, Topic
from services.common.dlq import reading_consumer, snapshot
from services.common.redis_client import RedisClient
from services.common.settings import KafkaSettings
from services.publisher.daily import DailyView
from services.publisher.views import CommentViews


async def rebuild_views(kafka: KafkaSettings, redis: RedisClient) -> Counter[str]:
    """Replay up to the end offsets seen at the start; return counts by outcome."""
    topic = kafka.topic(Topic.COMMENTS_MODERATED)
    consumer = reading_consumer(kafka, topic)
    views = CommentViews(redis)
    daily = DailyView(redis)
    counts: Counter[str] = Counter()
    await consumer.start()
    try:
        async for _, record in snapshot(consumer, topic):
            try:
                decision = CommentModerated.model_validate_json(record.value or b"")
            except ValidationError:
                counts["unreadable"] += 1
                continue
            counts[await views.apply(decision, released_at=decision.decided_at)] += 1
            await daily.record(decision)
    finally:
        await consumer.stop()
    return counts
