"""The publisher: applies verdicts to the feeds and review queues, and serves them over HTTP."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.auth import install_auth
from services.common.broker import create_broker
from services.common.contract import ConsumerGroup, Topic
from services.common.http import (
    BodySizeLimit,
    JsonDepthLimit,
    add_operational_routes,
    install_error_handlers,
    redis_check,
)
from services.common.lag import Subscription, lag_monitor
from services.common.periodic import every
from services.common.replication import ReplicaBarrier
from services.common.serve import STOPPING
from services.publisher import policies, routes
from services.publisher.desk.web import install_desk, send_decisions
from services.publisher.review_metrics import ReviewGauges
from services.publisher.settings import PublisherSettings
from services.publisher.views import CommentViews
from services.publisher.worker import subscribe_publisher


def create_app(settings: PublisherSettings | None = None) -> FastAPI:
    """Zero-arg for `uvicorn --factory`; tests pass settings."""
    settings = settings or PublisherSettings()
    broker = create_broker(settings.kafka, client_id="publisher")
    redis = settings.redis.client()
    views = CommentViews(redis)
    review = ReviewGauges(views)
    # One for the releases and the desk's decisions: its clients of cluster masters are shared.
    barrier = ReplicaBarrier(
        redis, settings.redis.replicas_to_wait_for(), settings.redis.wait_timeout_ms
    )
    subscribe_publisher(broker, views, settings, review, redis, barrier)

    kafka = settings.kafka
    consumed = [
        Subscription(kafka.topic(Topic.COMMENTS_MODERATED), kafka.group(ConsumerGroup.PUBLISHER))
    ]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, asyncio.Event]]:
        stop = asyncio.Event()
        desk.stopping.clear()
        try:
            async with (
                broker,
                lag_monitor(kafka, "publisher", consumed),
                every("publisher-review-gauges", settings.review_refresh_seconds, review.refresh),
            ):
                await broker.start()
                sender = asyncio.create_task(send_decisions(desk, broker, settings, stop))
                try:
                    yield {STOPPING: desk.stopping}  # see services.common.serve.Server
                finally:
                    desk.stopping.set()
                    stop.set()
                    await sender
        finally:
            await barrier.close()
            await redis.aclose()

    app = FastAPI(title="publisher", version="1", lifespan=lifespan)
    app.state.settings = settings
    app.state.redis = redis
    app.state.views = views
    install_auth(app, redis, "publisher", settings.key_requests_per_minute)
    app.include_router(routes.router)
    app.include_router(policies.router)
    desk = install_desk(app, redis, views, settings, barrier)
    install_error_handlers(app)
    app.add_middleware(JsonDepthLimit)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)

    async def kafka_ready() -> bool:
        return await broker.ping(timeout=2.0)

    add_operational_routes(app, {"kafka": kafka_ready, "redis": redis_check(redis)})
    return app
