"""Articles as the services see them: the latest version of each, in Redis."""

from collections.abc import Sequence

from services.common import redis_keys
from services.common.contract import ArticleUpserted
from services.common.redis_client import RedisClient

# Replaying an older event must not overwrite a newer article.
_UPSERT_IF_NEWER = """
local current = redis.call('HGET', KEYS[1], 'updated_ms')
if current and tonumber(current) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'updated_ms', ARGV[1], 'event', ARGV[2])
return 1
"""


class ArticleStore:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._upsert = redis.register_script(_UPSERT_IF_NEWER)

    async def upsert(self, article: ArticleUpserted) -> bool:
        """Store the article unless a newer version is already there; True when stored."""
        key = redis_keys.article(article.tenant_id, article.article_id)
        updated_ms = int(article.updated_at.timestamp() * 1000)
        stored = await self._upsert(keys=[key], args=[updated_ms, article.model_dump_json()])
        return bool(stored)

    async def get(self, tenant: str, article_id: str) -> ArticleUpserted | None:
        found = await self.get_many([(tenant, article_id)])
        return found.get((tenant, article_id))

    async def get_many(
        self, ids: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], ArticleUpserted]:
        unique = list(dict.fromkeys(ids))
        if not unique:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for tenant, article_id in unique:
                pipe.hget(redis_keys.article(tenant, article_id), "event")
            raw = await pipe.execute()
        return {
            ident: ArticleUpserted.model_validate_json(value)
            for ident, value in zip(unique, raw, strict=True)
            if value is not None
        }
