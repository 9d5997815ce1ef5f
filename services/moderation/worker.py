"""comments.submitted -> Moderator -> comments.moderated; articles -> the article store."""

import asyncio
import logging

from faststream.kafka import KafkaBroker

from services.common.articles import ArticleStore
from services.common.consume import subscribe_batches
from services.common.contract import (
    ArticleUpserted,
    CommentModerated,
    CommentSubmitted,
    ConsumerGroup,
    Topic,
    message_key,
)
from services.moderation import metrics
from services.moderation.moderator import Moderator
from services.moderation.settings import ModerationSettings

log = logging.getLogger(__name__)


def subscribe_moderation(
    broker: KafkaBroker, moderator: Moderator, articles: ArticleStore, settings: ModerationSettings
) -> None:
    """Attach the worker's handlers; the offset is committed only after a handler returns."""
    kafka = settings.kafka
    dlq = kafka.topic(Topic.COMMENTS_DLQ)

    moderated = kafka.topic(Topic.COMMENTS_MODERATED)

    async def moderate_comments(comments: list[CommentSubmitted]) -> None:
        metrics.BATCH_SIZE.observe(len(comments))
        decisions = await moderator.moderate(comments)
        # A comment submitted twice (a client's retry) gets one verdict: publish it once.
        unique = {(d.tenant_id, d.comment_id): d for d in decisions}
        await publish_decisions(broker, moderated, list(unique.values()))

    async def store_articles(found: list[ArticleUpserted]) -> None:
        for article in found:
            await articles.upsert(article)

    for _ in range(settings.consumers):
        subscribe_batches(
            broker,
            topic=kafka.topic(Topic.COMMENTS_SUBMITTED),
            group=kafka.group(ConsumerGroup.MODERATION),
            model=CommentSubmitted,
            dlq_topic=dlq,
            handle=moderate_comments,
            max_records=settings.batch_size,
            batch_timeout_ms=settings.batch_timeout_ms,
        )
    subscribe_batches(
        broker,
        topic=kafka.topic(Topic.ARTICLES),
        group=kafka.group(ConsumerGroup.MODERATION_ARTICLES),
        model=ArticleUpserted,
        dlq_topic=dlq,
        handle=store_articles,
        max_records=100,
    )


async def publish_decisions(
    broker: KafkaBroker, topic: str, decisions: list[CommentModerated]
) -> None:
    """Publish concurrently so the producer batches them; all must be acknowledged."""
    await asyncio.gather(*(broker.publish(d, topic, key=message_key(d)) for d in decisions))
    for d in decisions:
        reason = d.reasons[0].code if d.reasons else "none"
        metrics.VERDICTS.labels(verdict=d.verdict, reason=reason).inc()
        log.info(
            "comment moderated",
            extra={
                "comment_id": d.comment_id,
                "tenant": d.tenant_id,
                "verdict": d.verdict,
                "latency_ms": d.latency_ms,
            },
        )
