"""Each tenant's adapter versions in Redis: one hash per tenant, so serving a new version and
recording it are one command, and a rollback is one more.

Only versions that served are kept (one that did not beat the shared model changes nothing).
The worker reads the serving version at most every few seconds, like the policy.
"""

import logging
import time

from services.common import redis_keys
from services.common.redis_client import RedisClient
from services.moderation.adaptation import Adapter

log = logging.getLogger(__name__)

SERVING, NEXT, ATTEMPTED = "serving", "next", "attempted"
SHARED_MODEL = 0  # `rollback(to=0)`: no adapter, the shared model's thresholds


def _field(version: int) -> str:
    return f"v:{version}"


class AdapterStore:
    def __init__(self, redis: RedisClient, cache_seconds: float = 2.0) -> None:
        self._redis = redis
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Adapter | None]] = {}
        self._warned: set[str] = set()

    async def next_version(self, tenant: str) -> int:
        return int(await self._redis.hincrby(redis_keys.adaptations(tenant), NEXT, 1))

    async def attempted(self, tenant: str) -> int:
        """The tenant's count of moderator decisions when adaptation last ran for it."""
        return int(await self._redis.hget(redis_keys.adaptations(tenant), ATTEMPTED) or 0)

    async def record_attempt(self, tenant: str, decisions: int) -> None:
        await self._redis.hset(redis_keys.adaptations(tenant), ATTEMPTED, decisions)

    async def serve(self, adapter: Adapter) -> None:
        """Keep `adapter` and serve it from now on."""
        key = redis_keys.adaptations(adapter.tenant_id)
        mapping = {_field(adapter.version): adapter.model_dump_json(), SERVING: adapter.version}
        await self._redis.hset(key, mapping=mapping)  # type: ignore[arg-type]
        self._cache.pop(adapter.tenant_id, None)

    async def versions(self, tenant: str) -> list[Adapter]:
        """Every version that served, oldest first."""
        raw = await self._redis.hgetall(redis_keys.adaptations(tenant))
        found = [
            Adapter.model_validate_json(value)
            for name, value in raw.items()
            if redis_keys.as_text(name).startswith("v:")
        ]
        return sorted(found, key=lambda a: a.version)

    async def serving(self, tenant: str) -> Adapter | None:
        key = redis_keys.adaptations(tenant)
        version = await self._redis.hget(key, SERVING)
        if version is None:
            return None
        raw = await self._redis.hget(key, _field(int(version)))
        return Adapter.model_validate_json(raw) if raw else None

    async def rollback(self, tenant: str, to: int | None = None) -> Adapter | None:
        """Serve version `to` (0: the shared model); by default the one that served before the
        current one, or the shared model if there was none. Returns what serves now."""
        current = await self.serving(tenant)
        if to is None:
            earlier = [
                a.version
                for a in await self.versions(tenant)
                if current is None or a.version < current.version
            ]
            to = earlier[-1] if earlier else SHARED_MODEL
        key = redis_keys.adaptations(tenant)
        if to == SHARED_MODEL:
            await self._redis.hdel(key, SERVING)
        elif await self._redis.hexists(key, _field(to)):
            await self._redis.hset(key, SERVING, to)
        else:
            raise ValueError(f"version: tenant {tenant!r} has no adapter version {to}")
        self._cache.pop(tenant, None)
        return await self.serving(tenant)

    async def cached(self, tenant: str, engine: str, model_version: str) -> Adapter | None:
        """The serving adapter if it was fitted on this engine's model, at most `cache_seconds`
        old. One fitted on another model is not applied (a warning, once per tenant): its
        weights read outputs that model no longer gives."""
        now = time.monotonic()
        hit = self._cache.get(tenant)
        if hit and hit[0] > now:
            return hit[1]
        adapter = await self.serving(tenant)
        if adapter is not None and not adapter.fits(engine, model_version):
            if tenant not in self._warned:
                self._warned.add(tenant)
                log.warning(
                    "adapter %s was fitted on %s %s, not on %s %s: the shared model serves "
                    "tenant %s until `modctl adapt` fits a new one",
                    adapter.name,
                    adapter.engine,
                    adapter.base_model,
                    engine,
                    model_version,
                    tenant,
                )
            adapter = None
        self._cache[tenant] = (now + self._cache_seconds, adapter)
        return adapter
