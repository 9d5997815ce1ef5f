"""The Perspective-compatible API as a real process against this session's Kafka and Redis."""

import asyncio
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis

from services.common.settings import KafkaSettings
from services.modctl.testbed.processes import ServiceProcess, service_env
from services.perspective.keys import KeyStore
from tests.conftest import unique

CORAL_SECRET = "coral-signing-secret"
CORAL_SECRETS = f'["{CORAL_SECRET}"]'


@pytest.fixture(scope="session")
def perspective(kafka_settings: KafkaSettings, redis_url: str) -> Iterator[ServiceProcess]:
    env = {**service_env(kafka_settings, redis_url), "PERSPECTIVE_CORAL_SECRETS": CORAL_SECRETS}
    service = ServiceProcess("perspective", env)
    try:
        service.start()
        service.wait_ready()
        yield service
    finally:
        service.stop()


def create_key(redis_url: str, tenant: str, quota_per_minute: int | None = None) -> str:
    async def create() -> str:
        async with Redis.from_url(redis_url) as redis:
            return await KeyStore(redis).create(tenant, quota_per_minute)

    return asyncio.run(create())


@pytest.fixture(scope="session")
def api_key(redis_url: str) -> str:
    return create_key(redis_url, unique("site"))
