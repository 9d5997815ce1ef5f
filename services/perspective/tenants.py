"""Per-tenant options of the Perspective API: whether analyzed comments with `doNotStore: false`
enter the moderation pipeline (off unless the tenant enables it)."""

from redis.asyncio import Redis

from services.common import redis_keys

STORE_COMMENTS = "store_comments"


class TenantOptions:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def stores_comments(self, tenant: str) -> bool:
        value = await self.redis.hget(redis_keys.perspective_tenant(tenant), STORE_COMMENTS)
        return value in (b"1", "1")

    async def set_stores_comments(self, tenant: str, enabled: bool) -> None:
        key = redis_keys.perspective_tenant(tenant)
        await self.redis.hset(key, STORE_COMMENTS, "1" if enabled else "0")
