"""API keys on a real app and Redis: where a key may come from, each refusal named, and the
per-key token bucket (429 with Retry-After, one key's flood leaving another key alone)."""

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from services.common import redis_keys
from services.common.ratelimit import Rate, TokenBuckets
from services.common.settings import KafkaSettings, RedisSettings
from services.common.tenants import Scope, TenantStore
from services.publisher.app import create_app
from services.publisher.settings import PublisherSettings
from tests.conftest import unique

# Passing the key check, an unknown comment is a 404; refusals come before it.
STATUS = "/v1/comments/no-such-comment"


@pytest.fixture
async def client(kafka_settings: KafkaSettings, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The publisher's API in-process (no consumer needed for these calls)."""
    app = create_app(PublisherSettings(kafka=kafka_settings, redis=RedisSettings(url=redis_url)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://publisher") as http:
        yield http


@pytest.fixture
async def store(redis: Redis) -> TenantStore:
    return TenantStore(redis)


async def new_key(store: TenantStore, **options: object) -> str:
    tenant = unique("site")
    await store.create_tenant(tenant)
    key, _ = await store.create_key(tenant, **options)  # type: ignore[arg-type]
    return key


async def test_key_may_come_as_bearer_header_or_query(
    client: httpx.AsyncClient, store: TenantStore
) -> None:
    key = await new_key(store)
    for request in (
        {"headers": {"Authorization": f"Bearer {key}"}},
        {"headers": {"X-Api-Key": key}},
        {"params": {"key": key}},
    ):
        assert (await client.get(STATUS, **request)).status_code == 404  # type: ignore[arg-type]


async def test_each_refusal_names_its_problem(
    client: httpx.AsyncClient, store: TenantStore
) -> None:
    async def refused(key: str | None) -> tuple[int, str]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = await client.get(STATUS, headers=headers)
        return response.status_code, response.json()["error"]

    assert await refused(None) == (401, "missing_key")
    assert await refused("mk_never-issued") == (401, "unknown_key")
    expired = await new_key(store, expires_at=time.time() - 1)
    assert await refused(expired) == (401, "expired_key")
    revoked = await new_key(store)
    record = await store.lookup(revoked)
    assert record is not None
    await store.revoke(record.tenant, record.key_id)
    # A revocation takes effect within the service's key memory (5 s); this app never saw it.
    assert await refused(revoked) == (401, "revoked_key")
    ingest_only = await new_key(store, scopes=frozenset({Scope.INGEST}))
    assert await refused(ingest_only) == (403, "wrong_scope")
    missing = await client.get(STATUS)
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_key_over_its_rate_gets_429_and_other_keys_do_not(
    client: httpx.AsyncClient, store: TenantStore
) -> None:
    small = await new_key(store, requests_per_minute=3)
    other = await new_key(store, requests_per_minute=3)
    codes = [(await client.get(STATUS, headers={"X-Api-Key": small})).status_code for _ in range(3)]
    assert codes == [404, 404, 404]
    refused = await client.get(STATUS, headers={"X-Api-Key": small})
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 20  # one token: 60 s / 3
    assert (await client.get(STATUS, headers={"X-Api-Key": other})).status_code == 404


async def test_token_bucket_refills_at_its_rate(redis: Redis) -> None:
    buckets = TokenBuckets(redis)
    bucket = redis_keys.key_bucket(unique("digest"), "test")
    rate = Rate(per_minute=600)  # 10 a second
    taken = [await buckets.take(bucket, rate, cost=300) for _ in range(3)]
    assert [t.allowed for t in taken] == [True, True, False]
    assert 0 < taken[2].retry_after_ms <= 30_000
    assert await redis.pttl(bucket) > 0  # buckets expire once full again
