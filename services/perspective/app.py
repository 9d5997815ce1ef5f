"""The Perspective-compatible API: sites that used Google's Perspective point their client here."""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from faststream.kafka import KafkaBroker

from services.common.articles import ArticleStore
from services.common.auth import install_auth
from services.common.broker import create_broker
from services.common.http import (
    BodySizeLimit,
    JsonDepthLimit,
    add_operational_routes,
    redis_check,
)
from services.moderation.engines import load_engine
from services.moderation.policy import Policy
from services.moderation.policy_store import PolicyStore
from services.perspective import coral, metrics, routes
from services.perspective.errors import error_response, install_error_handlers
from services.perspective.scorer import Scorer
from services.perspective.settings import PerspectiveSettings

log = logging.getLogger(__name__)
METHODS = {"/v1alpha1/comments:analyze": "analyze", "/v1alpha1/comments:suggestscore": "suggest"}


def create_app(
    settings: PerspectiveSettings | None = None, *, broker: KafkaBroker | None = None
) -> FastAPI:
    """Zero-arg for `uvicorn --factory`; the engine loads once, in the lifespan."""
    settings = settings or PerspectiveSettings()
    kafka = broker or create_broker(settings.kafka, client_id="perspective")
    redis = settings.redis.client()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Before the first call: `analyze` reads store_comments from the tenant record only.
        moved, dropped = await auth.tenants.migrate_store_comments()
        if moved or dropped:
            log.info(
                "store_comments moved into the tenant records",
                extra={"moved": moved, "dropped": dropped},
            )
        scorer = Scorer(load_engine(settings.engine), settings.batch_size)
        log.info("engine ready", extra={"engine": settings.engine, "labels": scorer.labels})
        app.state.scorer = scorer
        async with kafka, scorer:
            await kafka.start()
            yield
        await redis.aclose()

    app = FastAPI(title="perspective", version="v1alpha1", lifespan=lifespan)
    app.state.settings = settings
    app.state.broker = kafka
    auth = install_auth(app, redis, "perspective", settings.quota_per_minute)
    app.state.policies = PolicyStore(redis, Policy())
    app.state.articles = ArticleStore(redis)
    app.include_router(routes.router)
    app.include_router(coral.router)
    install_error_handlers(app)
    app.add_middleware(JsonDepthLimit, respond=lambda message: error_response(400, message))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)

    @app.middleware("http")
    async def count(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if method := METHODS.get(request.url.path):
            metrics.REQUESTS.labels(method=method, code=str(response.status_code)).inc()
        return response

    async def kafka_ready() -> bool:
        return await kafka.ping(timeout=2.0)

    async def engine_ready() -> bool:
        return hasattr(app.state, "scorer")

    add_operational_routes(
        app, {"kafka": kafka_ready, "redis": redis_check(redis), "engine": engine_ready}
    )
    return app
