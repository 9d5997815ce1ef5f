"""Token buckets in Redis: one atomic script per take, so concurrent replicas share one limit."""

from dataclasses import dataclass

from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterPipeline

from services.common.redis_client import RedisClient

# KEYS[1]: the bucket (a hash: tokens, ts in ms). ARGV: capacity, refill per second, cost.
# Redis's own clock, so every replica sees one time. Answers {allowed, retry_after_ms}.
_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate / 1000)
local allowed = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = math.ceil((cost - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity * 1000 / rate) + 1000)
return {allowed, wait}
"""


@dataclass(frozen=True)
class Taken:
    allowed: bool
    retry_after_ms: int  # 0 when allowed

    @property
    def retry_after_seconds(self) -> int:
        """For a Retry-After header: whole seconds, at least one."""
        return max(1, -(-self.retry_after_ms // 1000))


@dataclass(frozen=True)
class Rate:
    """`per_minute` takes a minute, refilled evenly; a full bucket allows that many at once."""

    per_minute: int

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


class TokenBuckets:
    def __init__(self, redis: RedisClient) -> None:
        self._script = redis.register_script(_TAKE)

    async def take(self, bucket: str, rate: Rate, cost: int = 1) -> Taken:
        allowed, wait = await self._script(keys=[bucket], args=_args(rate, cost))
        return Taken(bool(allowed), int(wait))

    async def queue_take(
        self, pipe: Pipeline | ClusterPipeline, bucket: str, rate: Rate, cost: int = 1
    ) -> None:
        """The same take inside a pipeline (awaiting only queues it); its `[allowed, wait]` is
        among the pipeline's results."""
        if isinstance(pipe, Pipeline):
            await self._script(keys=[bucket], args=_args(rate, cost), client=pipe)
        else:  # a cluster pipeline loads no script on the node: send the script itself
            pipe.eval(_TAKE, 1, bucket, *_args(rate, cost))


def _args(rate: Rate, cost: int) -> list[int | float]:
    if rate.per_minute < 1:
        raise ValueError("a rate needs at least one request a minute")
    return [rate.per_minute, rate.per_second, cost]
