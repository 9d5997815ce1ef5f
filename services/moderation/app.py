"""The moderation worker process: Kafka consumers plus /metrics and health over HTTP."""

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.articles import ArticleStore
from services.common.broker import create_broker
from services.common.contract import ConsumerGroup, Topic
from services.common.http import add_operational_routes, redis_check
from services.common.lag import Subscription, lag_monitor
from services.moderation.engine_process import EngineProcess
from services.moderation.engines import load_engine
from services.moderation.moderator import CacheSettings, Moderator
from services.moderation.scoring import CheckpointError, Engine
from services.moderation.settings import ModerationSettings
from services.moderation.worker import subscribe_moderation

# A model that cannot load is a configuration error: restarting will not fix it (EX_CONFIG).
EXIT_BAD_MODEL = 78
logger = logging.getLogger("moderation")


def _load_or_exit(settings: ModerationSettings) -> Engine:
    """One clear log line and exit 78 for a bad model file, not a traceback per restart."""
    try:
        if settings.inference == "process":
            return EngineProcess(settings)
        return load_engine(settings.engine, settings)
    except (CheckpointError, ValueError) as error:
        logger.error("moderation cannot start: %s", error, extra={"event": "engine_failed"})
        logging.shutdown()
        # Nothing has started yet; uvicorn would print the lifespan's traceback on any raise.
        os._exit(EXIT_BAD_MODEL)


def create_app(settings: ModerationSettings | None = None, engine: Engine | None = None) -> FastAPI:
    """Zero-arg for `uvicorn --factory`; tests pass settings and may pass a loaded engine."""
    settings = settings or ModerationSettings()
    broker = create_broker(settings.kafka, client_id="moderation")
    redis = settings.redis.client()
    loaded: dict[str, Engine] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loaded["engine"] = engine or _load_or_exit(settings)
        caches = CacheSettings(
            settings.decision_ttl_seconds,
            settings.score_ttl_seconds,
            settings.embedding_ttl_seconds,
        )
        moderator = Moderator(redis, loaded["engine"], settings.policy, caches)
        subscribe_moderation(broker, moderator, ArticleStore(redis), settings)
        kafka = settings.kafka
        consumed = [
            Subscription(
                kafka.topic(Topic.COMMENTS_SUBMITTED), kafka.group(ConsumerGroup.MODERATION)
            ),
            Subscription(
                kafka.topic(Topic.ARTICLES), kafka.group(ConsumerGroup.MODERATION_ARTICLES)
            ),
        ]
        try:
            async with (
                broker,
                lag_monitor(kafka, "moderation", consumed),
            ):
                await broker.start()
                yield
        finally:
            moderator.close()
            if isinstance(loaded["engine"], EngineProcess) and engine is None:
                loaded["engine"].close()
            await redis.aclose()

    async def kafka_ready() -> bool:
        return await broker.ping(timeout=2.0)

    async def model_ready() -> bool:
        found = loaded.get("engine")
        return found is not None and (not isinstance(found, EngineProcess) or found.alive())

    app = FastAPI(title="moderation", lifespan=lifespan)
    add_operational_routes(
        app, {"kafka": kafka_ready, "redis": redis_check(redis), "model": model_ready}
    )
    return app
