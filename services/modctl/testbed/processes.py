"""A running system of services on free ports (for the test suite, soak and benchmarks), and
tenant keys for it."""

import asyncio
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from services.common.settings import KafkaSettings, RedisSettings
from services.common.tenants import ALL_SCOPES, Scope, TenantStore
from services.modctl.processes import DATA, OFFLINE, ServiceProcess


@dataclass
class System:
    ingest: ServiceProcess
    moderation: ServiceProcess
    publisher: ServiceProcess
    kafka: KafkaSettings
    redis_url: str
    redis: RedisSettings
    _keys: dict[str, str] = field(default_factory=dict)

    def all(self) -> list[ServiceProcess]:
        return [self.ingest, self.moderation, self.publisher]

    def key(self, tenant: str) -> str:
        """A key of `tenant` with every scope (the tenant created if new), one per tenant."""
        if tenant not in self._keys:
            self._keys[tenant] = mint_key(self.redis, tenant)
        return self._keys[tenant]

    def headers(self, tenant: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key(tenant)}"}


def mint_key(
    redis: str | RedisSettings,
    tenant: str,
    scopes: frozenset[Scope] = ALL_SCOPES,
    *,
    private_feeds: bool = False,
    requests_per_minute: int | None = None,
) -> str:
    """A new key of `tenant` in that Redis (a URL or full settings with credentials), creating
    the tenant if it is new."""
    settings = RedisSettings(url=redis) if isinstance(redis, str) else redis

    async def create() -> str:
        async with settings.client() as client:
            store = TenantStore(client)
            await store.create_tenant(tenant, private_feeds=private_feeds, exist_ok=True)
            key, _ = await store.create_key(tenant, scopes, requests_per_minute=requests_per_minute)
            return key

    # On a thread of its own: callers may be inside a running loop (Playwright, async tests).
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, create()).result()


def service_env(kafka: KafkaSettings, redis: str | RedisSettings) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "KAFKA_NAMESPACE": kafka.namespace,
        **redis_env(RedisSettings(url=redis) if isinstance(redis, str) else redis),
        **OFFLINE,
    }


def redis_env(redis: RedisSettings) -> dict[str, str]:
    """The environment that points a service at this Redis, whatever its topology."""
    env = {"REDIS_URL": redis.url, "REDIS_MODE": redis.mode}
    if redis.mode == "cluster":
        env["REDIS_CLUSTER_NODES"] = redis.cluster_nodes
    if redis.mode == "sentinel":
        env["REDIS_SENTINELS"] = redis.sentinels
        env["REDIS_SENTINEL_MASTER"] = redis.sentinel_master
    return env


@contextmanager
def running_system(
    kafka: KafkaSettings,
    redis: str | RedisSettings,
    log_dir: Path = DATA / "test-logs",
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[System]:
    """Ingest, moderation and publisher, ready; all stopped on exit. `redis` is a standalone
    server's URL or the settings of any topology."""
    settings = RedisSettings(url=redis) if isinstance(redis, str) else redis
    env = {**service_env(kafka, settings), **(extra_env or {})}
    system = System(
        ServiceProcess("ingest", env, log_dir=log_dir),
        ServiceProcess("moderation", env, log_dir=log_dir),
        ServiceProcess("publisher", env, log_dir=log_dir),
        kafka,
        settings.url,
        settings,
    )
    try:
        for service in system.all():
            service.start()
        for service in system.all():
            service.wait_ready()
        yield system
    finally:
        for service in system.all():
            service.stop()
