"""comments.moderated and feed.published -> a scheduled delivery per subscribed endpoint.

The deliveries are written to Redis before the batch's offsets commit (the consumers commit
only after the handler returned), so an event the service read is never lost; ids derived from
the event and endpoint make a redelivered record a no-op.
"""

import hashlib
from datetime import UTC, datetime
from typing import Any

from faststream.kafka import KafkaBroker

from services.common.consume import subscribe_batches
from services.common.contract import CommentModerated, ConsumerGroup, FeedPublished, Topic
from services.common.settings import KafkaSettings
from services.webhooks import metrics
from services.webhooks.config import ConfigStore, EventType
from services.webhooks.deliveries import Delivery, DeliveryStore, body, delivery_id


def event_id(*parts: str) -> str:
    """Stable across redeliveries and replays, so receivers can deduplicate on it."""
    return "evt_" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def verdict_payload(decision: CommentModerated) -> tuple[str, dict[str, Any]]:
    decided_us = str(int(decision.decided_at.timestamp() * 1_000_000))
    ident = event_id("verdict", decision.tenant_id, decision.comment_id, decided_us)
    comment = decision.comment
    data = {
        "comment_id": decision.comment_id,
        "article_id": decision.article_id,
        "parent_id": comment.parent_id,
        "author_id": comment.author.id,
        "body": comment.body,
        "verdict": decision.verdict.value,
        "reasons": [r.model_dump(mode="json", exclude_none=True) for r in decision.reasons],
        "scores": decision.scores.model_dump(mode="json"),
        "decided_by": decision.decided_by,
        "decided_at": decision.decided_at.isoformat(),
        "submitted_at": decision.submitted_at.isoformat(),
        "engine": decision.engine,
        "model_version": decision.model_version,
    }
    return ident, _envelope(ident, EventType.VERDICT, decision.tenant_id, decision.decided_at, data)


def released_payload(release: FeedPublished) -> tuple[str, dict[str, Any]]:
    # A comment enters its feed once, so its release is one event however often it is announced.
    ident = event_id("released", release.tenant_id, release.comment_id)
    data = {
        "comment_id": release.comment_id,
        "article_id": release.article_id,
        "released_at": release.released_at.isoformat(),
    }
    return ident, _envelope(ident, EventType.RELEASED, release.tenant_id, release.released_at, data)


def _envelope(
    ident: str, kind: EventType, tenant: str, at: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": ident,
        "type": kind.value,
        "tenant_id": tenant,
        "created_at": at.isoformat(),
        "data": data,
    }


class Scheduler:
    """Turns events into deliveries for the endpoints subscribed at the time."""

    def __init__(self, configs: ConfigStore, store: DeliveryStore) -> None:
        self.configs = configs
        self.store = store

    async def schedule(
        self, kind: EventType, items: list[tuple[str, datetime, tuple[str, dict[str, Any]]]]
    ) -> None:
        """`items`: (tenant, event time, (event id, payload)) for each event of a batch.

        An endpoint gets the events from the time it was configured on, so a new endpoint (or
        a service started on a topic with history) is not flooded with the past.
        """
        endpoints = await self.configs.subscribed({tenant for tenant, *_ in items}, kind)
        now = datetime.now(UTC)
        for tenant, at, (ident, payload) in items:
            for endpoint in endpoints.get(tenant, []):
                if endpoint.configured_at is not None and at < endpoint.configured_at:
                    continue
                url = str(endpoint.url)
                delivery = Delivery(
                    id=delivery_id(ident, url),
                    tenant_id=tenant,
                    event_id=ident,
                    event_type=kind,
                    url=url,
                    payload=body(payload),
                    created_at=now,
                    next_attempt_at=now,
                )
                if await self.store.enqueue(delivery):
                    metrics.ENQUEUED.labels(event=kind.value).inc()

    async def verdicts(self, decisions: list[CommentModerated]) -> None:
        await self.schedule(
            EventType.VERDICT,
            [(d.tenant_id, d.decided_at, verdict_payload(d)) for d in decisions],
        )

    async def releases(self, releases: list[FeedPublished]) -> None:
        await self.schedule(
            EventType.RELEASED,
            [(r.tenant_id, r.released_at, released_payload(r)) for r in releases],
        )


def subscribe_events(
    broker: KafkaBroker, kafka: KafkaSettings, scheduler: Scheduler, batch: tuple[int, int]
) -> None:
    """Two consumer groups of their own, so webhooks never hold back the publisher."""
    size, timeout_ms = batch
    dlq = kafka.topic(Topic.COMMENTS_DLQ)
    subscribe_batches(
        broker,
        topic=kafka.topic(Topic.COMMENTS_MODERATED),
        group=kafka.group(ConsumerGroup.WEBHOOKS_VERDICTS),
        model=CommentModerated,
        dlq_topic=dlq,
        handle=scheduler.verdicts,
        max_records=size,
        batch_timeout_ms=timeout_ms,
    )
    subscribe_batches(
        broker,
        topic=kafka.topic(Topic.FEED_PUBLISHED),
        group=kafka.group(ConsumerGroup.WEBHOOKS_RELEASES),
        model=FeedPublished,
        dlq_topic=dlq,
        handle=scheduler.releases,
        max_records=size,
        batch_timeout_ms=timeout_ms,
    )


for _kind in EventType:
    metrics.ENQUEUED.labels(event=_kind.value)
