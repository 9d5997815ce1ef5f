"""The Redis client type every service holds, whatever the topology (REDIS_MODE)."""

from collections.abc import Sequence

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

__all__ = ["RedisClient", "get_many"]

# One server (standalone, or the master Sentinel names) or a Redis Cluster. Both take the same
# commands here: keys that a script or transaction touches together share one hash slot.
RedisClient = Redis | RedisCluster


async def get_many(redis: RedisClient, keys: Sequence[str]) -> list[bytes | None]:
    """GET of many keys in one round trip: MGET needs one hash slot in a cluster, a pipeline
    does not (the cluster client sends each node its part)."""
    if not keys:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.get(key)
        found: list[bytes | None] = await pipe.execute()
    return found
