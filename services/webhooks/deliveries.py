"""The durable delivery schedule and log, in Redis.

A delivery is one event for one endpoint. It is written once (the same event and endpoint
again is a no-op, so a redelivered Kafka record is not sent twice) together with its place in
the due schedule of its tenant's shard, a sorted set by due time. A dispatcher claims due
deliveries by pushing their due time past a lease, so a dispatcher that dies mid-attempt leaves
them to be retried once the lease ends: delivery is at least once, and a restart loses nothing.
"""

import hashlib
import json
import random
import time
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from services.common import redis_keys
from services.common.redis_client import RedisClient
from services.common.redis_keys import as_text
from services.webhooks.config import EventType


class Status(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    DEAD = "dead"  # every retry failed; `modctl webhooks replay` sends it again


class Outcome(StrEnum):
    """What one attempt led to (a metric label)."""

    SUCCEEDED = "succeeded"
    RETRYING = "retrying"
    DEAD = "dead"


class Attempt(BaseModel):
    number: int
    at: datetime
    status_code: int | None = None
    latency_ms: float
    error: str | None = None
    outcome: Outcome
    next_retry_at: datetime | None = None


class Delivery(BaseModel):
    id: str
    tenant_id: str
    event_id: str
    event_type: EventType
    url: str
    payload: str = Field(description="the JSON body, the same bytes on every attempt")
    status: Status = Status.PENDING
    created_at: datetime
    next_attempt_at: datetime | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    round_attempts: int = 0  # attempts since created or replayed: the retry schedule's index

    def public(self) -> dict[str, object]:
        """The delivery log's view: everything but the payload."""
        return self.model_dump(mode="json", exclude={"payload", "round_attempts"})


def delivery_id(event_id: str, url: str) -> str:
    return hashlib.sha256(f"{event_id}\n{url}".encode()).hexdigest()[:32]


def _ref(tenant: str, delivery: str) -> str:
    return f"{tenant}/{delivery}"


def _log_member(delivery: Delivery) -> str:
    return f"{int(delivery.created_at.timestamp() * 1000):013d}:{delivery.id}"


# KEYS: delivery, due, log. ARGV: delivery JSON, due time, due member, log member, log cutoff.
_ENQUEUE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  redis.call('ZADD', KEYS[3], 0, ARGV[4])
  redis.call('ZREMRANGEBYLEX', KEYS[3], '-', '(' .. ARGV[5])
  return 1
end
return 0
"""
# KEYS: due. ARGV: now, how many, lease end.
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[3], member) end
return due
"""


class DeliveryStore:
    def __init__(
        self,
        redis: RedisClient,
        schedule: list[float],
        jitter: float,
        retention: timedelta = timedelta(days=7),
    ) -> None:
        self.redis = redis
        self.schedule = schedule
        self.jitter = jitter
        self.retention = retention
        self._enqueue = redis.register_script(_ENQUEUE)
        self._claim = redis.register_script(_CLAIM)

    async def enqueue(self, delivery: Delivery) -> bool:
        """Schedule `delivery` now unless it was scheduled before; True when it is new."""
        cutoff = int((delivery.created_at - self.retention).timestamp() * 1000)
        keys = [
            redis_keys.webhook_delivery(delivery.tenant_id, delivery.id),
            redis_keys.webhook_due(redis_keys.shard(delivery.tenant_id)),
            redis_keys.webhook_log(delivery.tenant_id),
        ]
        args: list[str | float] = [
            delivery.model_dump_json(),
            delivery.created_at.timestamp(),
            _ref(delivery.tenant_id, delivery.id),
            _log_member(delivery),
            f"{cutoff:013d}",
        ]
        return bool(await self._enqueue(keys=keys, args=args))

    async def claim(self, limit: int, lease_seconds: float) -> list[tuple[str, str]]:
        """(tenant, delivery id) of up to `limit` due deliveries, leased to the caller."""
        now = time.time()
        members: list[bytes] = []
        for shard in range(redis_keys.SHARDS):
            if len(members) >= limit:
                break
            args = [now, limit - len(members), now + lease_seconds]
            members += await self._claim(keys=[redis_keys.webhook_due(shard)], args=args)
        return [tuple(as_text(m).split("/", 1)) for m in members]  # type: ignore[misc]

    async def get(self, tenant: str, delivery: str) -> Delivery | None:
        raw = await self.redis.get(redis_keys.webhook_delivery(tenant, delivery))
        return Delivery.model_validate_json(raw) if raw else None

    async def record(
        self,
        delivery: Delivery,
        status_code: int | None,
        latency_ms: float,
        error: str | None,
        *,
        final: bool = False,
    ) -> Attempt:
        """Add an attempt and schedule what follows: done, the next retry, or the dead-letter
        (at once when `final`)."""
        now = datetime.now(UTC)
        succeeded = status_code is not None and 200 <= status_code < 300
        retry_index = delivery.round_attempts
        attempt = Attempt(
            number=len(delivery.attempts) + 1,
            at=now,
            status_code=status_code,
            latency_ms=round(latency_ms, 1),
            error=error,
            outcome=Outcome.SUCCEEDED,
        )
        if not succeeded and not final and retry_index < len(self.schedule):
            delay = self.schedule[retry_index] * (1 + random.uniform(0, self.jitter))
            attempt.outcome, attempt.next_retry_at = (
                Outcome.RETRYING,
                now + timedelta(seconds=delay),
            )
        elif not succeeded:
            attempt.outcome = Outcome.DEAD
        delivery.attempts.append(attempt)
        delivery.round_attempts += 1
        delivery.next_attempt_at = attempt.next_retry_at
        delivery.status = {
            Outcome.SUCCEEDED: Status.SUCCEEDED,
            Outcome.RETRYING: Status.PENDING,
            Outcome.DEAD: Status.DEAD,
        }[attempt.outcome]
        key = redis_keys.webhook_delivery(delivery.tenant_id, delivery.id)
        ref = _ref(delivery.tenant_id, delivery.id)
        shard = redis_keys.shard(delivery.tenant_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            if attempt.next_retry_at is not None:
                pipe.set(key, delivery.model_dump_json())
                pipe.zadd(redis_keys.webhook_due(shard), {ref: attempt.next_retry_at.timestamp()})
            elif delivery.status is Status.DEAD:
                pipe.set(key, delivery.model_dump_json())  # kept until replayed
                pipe.zrem(redis_keys.webhook_due(shard), ref)
                pipe.rpush(redis_keys.webhook_dead(shard), ref)
            else:
                pipe.set(key, delivery.model_dump_json(), ex=self.retention)
                pipe.zrem(redis_keys.webhook_due(shard), ref)
            await pipe.execute()
        return attempt

    async def drop(self, tenant: str, delivery: str) -> None:
        """Forget a due entry whose delivery record is gone (expired or deleted)."""
        due = redis_keys.webhook_due(redis_keys.shard(tenant))
        await self.redis.zrem(due, _ref(tenant, delivery))

    async def replay(self, tenant: str | None = None) -> list[Delivery]:
        """Schedule dead-lettered deliveries (one tenant's, or all) for a new round of retries."""
        replayed: list[Delivery] = []
        for ref in await self._dead_refs(tenant):
            owner, _, delivery_id = ref.partition("/")
            shard = redis_keys.shard(owner)
            delivery = await self.get(owner, delivery_id)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.lrem(redis_keys.webhook_dead(shard), 1, ref)
                if delivery is not None:
                    now = datetime.now(UTC)
                    delivery.status, delivery.round_attempts = Status.PENDING, 0
                    delivery.next_attempt_at = now
                    key = redis_keys.webhook_delivery(owner, delivery_id)
                    pipe.set(key, delivery.model_dump_json())
                    pipe.zadd(redis_keys.webhook_due(shard), {ref: now.timestamp()})
                await pipe.execute()
            if delivery is not None:
                replayed.append(delivery)
        return replayed

    async def dead_letters(self, tenant: str | None = None) -> list[Delivery]:
        """Dead-lettered deliveries (one tenant's, or all), oldest first."""
        found = []
        for ref in await self._dead_refs(tenant):
            owner, _, ident = ref.partition("/")
            if delivery := await self.get(owner, ident):
                found.append(delivery)
        return found

    async def _dead_refs(self, tenant: str | None) -> list[str]:
        """`{tenant}/{delivery_id}` of the dead letters of one tenant, or of all, oldest first
        within each shard."""
        shards = range(redis_keys.SHARDS) if tenant is None else [redis_keys.shard(tenant)]
        refs = []
        for shard in shards:
            for raw in await self.redis.lrange(redis_keys.webhook_dead(shard), 0, -1):
                ref = as_text(raw)
                if tenant is None or ref.partition("/")[0] == tenant:
                    refs.append(ref)
        return refs

    async def page(
        self, tenant: str, limit: int, cursor: str | None = None
    ) -> tuple[list[Delivery], str | None]:
        """The tenant's deliveries, newest first, and the cursor of the next page (or None)."""
        top = f"({cursor}" if cursor else "+"
        members = await self.redis.zrevrangebylex(
            redis_keys.webhook_log(tenant), top, "-", start=0, num=limit + 1
        )
        names = [as_text(m) for m in members]
        more, names = len(names) > limit, names[:limit]
        keys = [redis_keys.webhook_delivery(tenant, n.split(":", 1)[1]) for n in names]
        raws = await self.redis.mget(keys) if keys else []
        found = [Delivery.model_validate_json(r) for r in raws if r]
        return found, (names[-1] if more and names else None)

    async def pending(self) -> int:
        async with self.redis.pipeline(transaction=False) as pipe:
            for shard in range(redis_keys.SHARDS):
                pipe.zcard(redis_keys.webhook_due(shard))
            return sum(int(n) for n in await pipe.execute())

    async def dead(self) -> int:
        async with self.redis.pipeline(transaction=False) as pipe:
            for shard in range(redis_keys.SHARDS):
                pipe.llen(redis_keys.webhook_dead(shard))
            return sum(int(n) for n in await pipe.execute())


def body(payload: dict[str, object]) -> str:
    """Compact JSON: what is signed is exactly what is sent."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
