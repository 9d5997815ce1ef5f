"""comments.submitted -> Moderator -> comments.moderated; articles -> the article store."""

import asyncio
import logging

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.common.articles import ArticleStore
from services.common.contract import (
    ArticleUpserted,
    CommentModerated,
    CommentSubmitted,
    ConsumerGroup,
    Topic,
    message_key,
)
from services.common.records import dead_letter, decode_records, raw_bodies
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

    @broker.subscriber(
        kafka.topic(Topic.COMMENTS_SUBMITTED),
        group_id=kafka.group(ConsumerGroup.MODERATION),
        auto_offset_reset="earliest",
        batch=True,
        max_records=settings.batch_size,
        batch_timeout_ms=settings.batch_timeout_ms,
        decoder=raw_bodies,
    )
    async def moderate_comments(body: list[bytes], message: KafkaMessage) -> None:
        comments, poison = decode_records(message.raw_message, CommentSubmitted)
        for bad in poison:
            await dead_letter(broker, dlq, bad)
        metrics.BATCH_SIZE.observe(len(comments))
        decisions = await moderator.moderate(comments)
        await publish_decisions(broker, kafka.topic(Topic.COMMENTS_MODERATED), decisions)

    @broker.subscriber(
        kafka.topic(Topic.ARTICLES),
        group_id=kafka.group(ConsumerGroup.MODERATION_ARTICLES),
        auto_offset_reset="earliest",
        batch=True,
        max_records=100,
        decoder=raw_bodies,
    )
    async def store_articles(body: list[bytes], message: KafkaMessage) -> None:
        found, poison = decode_records(message.raw_message, ArticleUpserted)
        for bad in poison:
            await dead_letter(broker, dlq, bad)
        for article in found:
            await articles.upsert(article)


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
