"""Real Redis and Kafka: `make test` starts Kafka; each test session starts a Redis of its own."""

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from services.common.contract import TOPIC_LAYOUT, Author, CommentSubmitted
from services.common.settings import KafkaSettings, RedisSettings
from services.common.topics import ensure_topics
from services.modctl.processes import wait_for_port
from services.modctl.testbed.processes import mint_key
from services.moderation.engines import load_engine
from services.moderation.scoring import Engine
from tests.processes import free_port
from tests.system import system
from tests.tiny_detoxify import build_tiny_detoxify

__all__ = [
    "free_port",
    "mint_key",
    "system",
    "wait_for_port",
]  # `system`: the services as processes, for e2e and ops tests


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if url := os.environ.get("TEST_REDIS_URL"):
        yield url
        return
    if shutil.which("redis-server") is None:
        pytest.fail(
            "redis-server not installed and TEST_REDIS_URL not set (`make test` installs it)"
        )
    port = free_port()
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(["redis-server", *args], stdout=subprocess.DEVNULL)
    try:
        if not wait_for_port("127.0.0.1", port):
            pytest.fail("redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    servers = os.environ.get("TEST_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    host, _, port = servers.split(",")[0].rpartition(":")
    if not wait_for_port(host, int(port), timeout=5.0):
        pytest.fail(f"no Kafka at {servers} (`make test` starts one)")
    return servers


@pytest.fixture(scope="session")
def kafka_settings(kafka_bootstrap: str) -> Iterator[KafkaSettings]:
    """A namespace of topics and groups of this session's own, deleted afterwards."""
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap, namespace=f"{unique('test')}.")
    asyncio.run(ensure_topics(settings))
    yield settings
    asyncio.run(delete_topics(settings))


async def delete_topics(settings: KafkaSettings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        await admin.delete_topics([settings.topic(t) for t in TOPIC_LAYOUT])
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def redis_settings(redis_url: str) -> RedisSettings:
    return RedisSettings(url=redis_url)


@pytest.fixture(scope="session")
def engine() -> Engine:
    """Loaded once: the real embedded engine, as the worker runs it."""
    return load_engine("embedded")


@pytest.fixture(scope="session")
def tiny_detoxify(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny Detoxify-format checkpoint and its config dir: (checkpoint, config_dir)."""
    return build_tiny_detoxify(tmp_path_factory.mktemp("detoxify"))


@pytest.fixture
def tenant() -> str:
    return unique("tenant")


def make_comment(tenant: str, article_id: str, body: str, **fields: Any) -> CommentSubmitted:
    return CommentSubmitted(
        tenant_id=tenant,
        article_id=article_id,
        comment_id=unique("c"),
        author=Author(id=unique("a"), display_name="Reader"),
        body=body,
        **fields,
    )


_KEYS: dict[tuple[str, str], str] = {}


def key_headers(redis_url: str, tenant: str) -> dict[str, str]:
    """`Authorization` with a key of `tenant` (every scope), minted once per tenant."""
    if (redis_url, tenant) not in _KEYS:
        _KEYS[redis_url, tenant] = mint_key(redis_url, tenant)
    return {"Authorization": f"Bearer {_KEYS[redis_url, tenant]}"}
