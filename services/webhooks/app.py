"""The webhook service: schedules signed deliveries from Kafka events and sends them."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from services.common.auth import install_auth
from services.common.broker import create_broker
from services.common.contract import ConsumerGroup, Topic
from services.common.http import add_operational_routes, install_error_handlers, redis_check
from services.common.lag import Subscription, lag_monitor
from services.common.periodic import every
from services.webhooks import metrics, routes
from services.webhooks.config import ConfigStore
from services.webhooks.deliveries import DeliveryStore
from services.webhooks.dispatcher import Dispatcher
from services.webhooks.events import Scheduler, subscribe_events
from services.webhooks.settings import WebhookSettings


def create_app(settings: WebhookSettings | None = None) -> FastAPI:
    """Zero-arg for `uvicorn --factory`; tests pass settings."""
    settings = settings or WebhookSettings()
    broker = create_broker(settings.kafka, client_id="webhooks")
    redis = settings.redis.client()
    configs = ConfigStore(redis)
    retention = timedelta(days=settings.log_retention_days)
    store = DeliveryStore(redis, settings.retry_schedule_seconds, settings.retry_jitter, retention)
    subscribe_events(
        broker,
        settings.kafka,
        Scheduler(configs, store),
        (settings.batch_size, settings.batch_timeout_ms),
    )
    dispatcher = Dispatcher(
        store,
        configs,
        timeout_seconds=settings.timeout_seconds,
        concurrency=settings.concurrency,
        poll_interval_seconds=settings.poll_interval_seconds,
        allow_private_urls=settings.allow_private_urls,
    )
    kafka = settings.kafka
    consumed = [
        Subscription(
            kafka.topic(Topic.COMMENTS_MODERATED), kafka.group(ConsumerGroup.WEBHOOKS_VERDICTS)
        ),
        Subscription(
            kafka.topic(Topic.FEED_PUBLISHED), kafka.group(ConsumerGroup.WEBHOOKS_RELEASES)
        ),
    ]

    async def refresh_gauges() -> None:
        metrics.PENDING.set(await store.pending())
        metrics.DEAD.set(await store.dead())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        try:
            async with (
                broker,
                lag_monitor(kafka, "webhooks", consumed),
                every("webhooks-gauges", settings.pending_refresh_seconds, refresh_gauges),
            ):
                await broker.start()
                sending = asyncio.create_task(dispatcher.run(stop), name="webhook-dispatcher")
                try:
                    yield
                finally:
                    stop.set()
                    await sending
        finally:
            await redis.aclose()

    app = FastAPI(title="webhooks", version="1", lifespan=lifespan)
    app.state.settings = settings
    install_auth(app, redis, "webhooks", settings.key_requests_per_minute)
    app.state.configs = configs
    app.state.deliveries = store
    app.include_router(routes.router)
    install_error_handlers(app)

    async def kafka_ready() -> bool:
        return await broker.ping(timeout=2.0)

    add_operational_routes(app, {"kafka": kafka_ready, "redis": redis_check(redis)})
    return app
