"""comments.moderated -> feed, review queue, feed.published."""

import asyncio
import logging

from faststream.kafka import KafkaBroker
from redis.asyncio import Redis

from services.common.consume import subscribe_batches
from services.common.contract import (
    CommentModerated,
    ConsumerGroup,
    FeedPublished,
    Topic,
    Verdict,
    message_key,
    utc_now,
)
from services.publisher import metrics
from services.publisher.desk import events
from services.publisher.settings import PublisherSettings
from services.publisher.views import CommentViews, Outcome

log = logging.getLogger(__name__)


def subscribe_publisher(
    broker: KafkaBroker, views: CommentViews, settings: PublisherSettings, redis: Redis
) -> None:
    kafka = settings.kafka
    dlq, published = kafka.topic(Topic.COMMENTS_DLQ), kafka.topic(Topic.FEED_PUBLISHED)

    async def release_comments(decisions: list[CommentModerated]) -> None:
        await announce_releases(broker, published, views, decisions)
        tenants = set()
        for decision in decisions:
            outcome = await views.apply(decision, released_at=utc_now())
            record(decision, outcome)
            tenants.add(decision.tenant_id)
            if outcome not in (Outcome.DUPLICATE, Outcome.STALE):
                await events.verdict_applied(redis, decision, outcome)
        for tenant in tenants:
            metrics.REVIEW_QUEUE_DEPTH.labels(tenant=tenant).set(await views.review_depth(tenant))

    subscribe_batches(
        broker,
        topic=kafka.topic(Topic.COMMENTS_MODERATED),
        group=kafka.group(ConsumerGroup.PUBLISHER),
        model=CommentModerated,
        dlq_topic=dlq,
        handle=release_comments,
        max_records=settings.batch_size,
        batch_timeout_ms=settings.batch_timeout_ms,
    )


async def announce_releases(
    broker: KafkaBroker, topic: str, views: CommentViews, decisions: list[CommentModerated]
) -> None:
    """feed.published goes out before the feed changes, so a crash between the two repeats the
    announcement (consumers dedupe by comment id) rather than losing it."""
    approved = [d for d in decisions if d.verdict is Verdict.APPROVED]
    already = await views.released(approved)
    await asyncio.gather(
        *(
            broker.publish(event, topic, key=message_key(event))
            for d, done in zip(approved, already, strict=True)
            if not done
            for event in [
                FeedPublished(
                    tenant_id=d.tenant_id, article_id=d.article_id, comment_id=d.comment_id
                )
            ]
        )
    )


def record(decision: CommentModerated, outcome: Outcome) -> None:
    metrics.OUTCOMES.labels(outcome=outcome).inc()
    if outcome is Outcome.RELEASED:
        metrics.RELEASE_SECONDS.observe(
            max((utc_now() - decision.submitted_at).total_seconds(), 0.0)
        )
    log.info(
        "verdict applied",
        extra={
            "comment_id": decision.comment_id,
            "tenant": decision.tenant_id,
            "verdict": decision.verdict,
            "outcome": outcome,
        },
    )
