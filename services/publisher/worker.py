"""comments.moderated -> feed, review queue, feed.published."""

import asyncio
import logging
from functools import partial

from faststream.kafka import KafkaBroker

from services.common import redis_keys
from services.common.consume import subscribe_batches
from services.common.contract import (
    SYSTEM_DECIDER,
    CommentModerated,
    ConsumerGroup,
    FeedPublished,
    Topic,
    Verdict,
    message_key,
    utc_now,
)
from services.common.redis_client import RedisClient
from services.common.replication import ReplicaBarrier
from services.common.retry import retry_transient
from services.publisher import metrics
from services.publisher.daily import DailyView, Recorded
from services.publisher.desk import events
from services.publisher.desk.decisions import machine_reason_overruled
from services.publisher.review_metrics import ReviewGauges
from services.publisher.settings import PublisherSettings
from services.publisher.views import CommentViews, Outcome

log = logging.getLogger(__name__)


def subscribe_publisher(
    broker: KafkaBroker,
    views: CommentViews,
    settings: PublisherSettings,
    review: ReviewGauges,
    redis: RedisClient,
    barrier: ReplicaBarrier,
) -> None:
    kafka = settings.kafka
    dlq, published = kafka.topic(Topic.COMMENTS_DLQ), kafka.topic(Topic.FEED_PUBLISHED)
    daily = DailyView(redis)

    async def release_comments(decisions: list[CommentModerated]) -> None:
        tenants = set()
        for decision in decisions:
            outcome = await views.apply(decision, released_at=decision.decided_at)
            record(decision, outcome)
            record_daily(decision, await daily.record(decision))
            tenants.add(decision.tenant_id)
            if outcome not in (Outcome.DUPLICATE, Outcome.STALE):
                await events.verdict_applied(redis, decision, outcome)
        # The views outlive a Redis failover before announcing, the marks before the commit.
        slots = [redis_keys.review(t) for t in tenants]  # each tenant's views share one slot
        await barrier.wait(slots)
        await announce_releases(broker, published, views, decisions)
        await barrier.wait(slots)
        await review.update(tenants)

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
    """feed.published, once per release: after the views changed, before the offset commits.

    A crash before the announcement is made redelivers the batch and announces then; only a
    crash between Kafka's acknowledgement and the marker write (milliseconds) repeats one.
    """
    # A batch can hold the same verdict twice (a comment submitted twice, or re-published after
    # a retry): announce it once.
    approved = {
        (d.tenant_id, d.comment_id, d.decided_at): d
        for d in decisions
        if d.verdict is Verdict.APPROVED
    }
    pending = await views.unannounced(list(approved.values()))
    events = [
        FeedPublished(tenant_id=d.tenant_id, article_id=d.article_id, comment_id=d.comment_id)
        for d in pending
    ]
    # Wait for every send, and mark the ones Kafka took, so a retry after a failure
    # re-sends only what is still unannounced.
    results = await asyncio.gather(
        *(broker.publish(e, topic, key=message_key(e)) for e in events), return_exceptions=True
    )
    sent = [d for d, r in zip(pending, results, strict=True) if not isinstance(r, BaseException)]
    # Wait out a Redis outage here rather than redo the batch, which would announce again.
    await retry_transient(partial(views.mark_announced, sent))
    for result in results:
        if isinstance(result, BaseException):
            raise result


def record_daily(decision: CommentModerated, recorded: Recorded) -> None:
    """The held share's counts and the held comments' waits, as the daily view counted them."""
    tenant = decision.tenant_id
    if recorded.counted:
        metrics.MACHINE_VERDICTS.labels(tenant=tenant, verdict=decision.verdict).inc()
        if decision.verdict is Verdict.REVIEW:  # the tenant's waits from 0, so the first shows
            metrics.HELD_WAIT_SECONDS.labels(tenant=tenant)
    if recorded.waited_seconds is not None:
        metrics.HELD_WAIT_SECONDS.labels(tenant=tenant).observe(recorded.waited_seconds)


def record(decision: CommentModerated, outcome: Outcome) -> None:
    metrics.OUTCOMES.labels(outcome=outcome).inc()
    if decision.decided_by != SYSTEM_DECIDER and outcome not in (Outcome.DUPLICATE, Outcome.STALE):
        metrics.MODERATOR_VERDICTS.labels(verdict=decision.verdict).inc()
        metrics.HUMAN_DECISIONS.labels(tenant=decision.tenant_id).inc()
        overruled = machine_reason_overruled(decision)
        if overruled is not None:
            metrics.HUMAN_OVERRULES.labels(tenant=decision.tenant_id, reason=overruled).inc()
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
