"""API keys for the Perspective-compatible API: each maps to a tenant and a quota. Only the
key's sha256 is stored, so a leaked Redis dump holds no usable key."""

import hashlib
import secrets
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from services.common import redis_keys
from services.common.redis_keys import as_text

KEY_PREFIX = "mk_"
WINDOW_SECONDS = 60


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    tenant: str
    quota_per_minute: int | None  # None: the service's default
    digest: str


@dataclass(frozen=True)
class Quota:
    allowed: bool
    retry_after: int  # seconds until the window resets


class KeyStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def create(self, tenant: str, quota_per_minute: int | None = None) -> str:
        """A new key for the tenant; the key itself is returned once and never stored."""
        key = KEY_PREFIX + secrets.token_urlsafe(30)
        name = redis_keys.perspective_key(digest(key))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(name, "tenant", tenant)
            pipe.hset(name, "created_at", str(int(time.time())))
            if quota_per_minute is not None:
                pipe.hset(name, "quota_per_minute", str(quota_per_minute))
            await pipe.execute()
        return key

    async def lookup(self, key: str) -> ApiKey | None:
        found = await self.redis.hgetall(redis_keys.perspective_key(digest(key)))
        fields = {as_text(k): as_text(v) for k, v in found.items()}
        if "tenant" not in fields:
            return None
        quota = fields.get("quota_per_minute")
        return ApiKey(fields["tenant"], int(quota) if quota else None, digest(key))

    async def spend(self, key: ApiKey, default_quota: int) -> Quota:
        """One request against the key's fixed one-minute window."""
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        counter = redis_keys.perspective_quota(key.digest, window)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(counter)
            pipe.expire(counter, WINDOW_SECONDS * 2)
            used, _ = await pipe.execute()
        limit = key.quota_per_minute or default_quota
        retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))
        return Quota(int(used) <= limit, retry_after)
