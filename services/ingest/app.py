"""The ingest service: platforms' HTTP API in front of Kafka."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from services.common.articles import ArticleStore
from services.common.auth import install_auth
from services.common.broker import create_broker
from services.common.http import (
    BodySizeLimit,
    JsonDepthLimit,
    add_operational_routes,
    install_error_handlers,
    redis_check,
)
from services.ingest import routes
from services.ingest.settings import IngestSettings


def create_app(
    settings: IngestSettings | None = None, *, broker: KafkaBroker | None = None
) -> FastAPI:
    """Zero-arg for `uvicorn --factory`; tests pass settings, or an in-memory broker."""
    settings = settings or IngestSettings()
    kafka = broker or create_broker(settings.kafka, client_id="ingest")
    redis = settings.redis.client()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with kafka:  # connect on enter; flush and stop on exit
            await kafka.start()
            yield
        await redis.aclose()

    app = FastAPI(title="ingest", version="1", lifespan=lifespan)
    app.state.settings = settings
    app.state.broker = kafka
    app.state.articles = ArticleStore(redis)
    install_auth(app, redis, "ingest", settings.key_requests_per_minute)
    app.include_router(routes.router)
    install_error_handlers(app, skip={"comment", "batch"})
    app.add_middleware(JsonDepthLimit)  # inside BodySizeLimit: reads only what it let through
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)

    async def kafka_ready() -> bool:
        return await kafka.ping(timeout=2.0)

    add_operational_routes(app, {"kafka": kafka_ready, "redis": redis_check(redis)})
    return app
