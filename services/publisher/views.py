"""The Redis views built from comments.moderated: each comment's state, feeds, review queues.

They are views: replaying comments.moderated rebuilds them, and applying a verdict twice
changes nothing. The latest verdict (by decided_at) wins.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel

from services.common import redis_keys
from services.common.contract import SYSTEM_DECIDER, CommentModerated, Verdict
from services.common.redis_client import RedisClient


class Outcome(StrEnum):
    RELEASED = "released"  # newly in the article's feed
    HELD = "held"  # in the review queue
    REJECTED = "rejected"
    DUPLICATE = "duplicate"  # this verdict was applied before
    STALE = "stale"  # a later verdict was applied before


class CommentState(BaseModel):
    """What `GET /v1/comments/{id}` and the feed show about one comment."""

    decision: CommentModerated
    released_at: datetime | None = None


# KEYS: comment, feed, review, approved queue, rejected queue, history, author counts,
# author comments, the tenant's moderator decisions. ARGV: decided_us, verdict, decision json,
# order score, member, released_at, "1" for a moderator's verdict.
# The author's counts move from the comment's previous verdict to the new one, so they are
# always the counts of current verdicts, and replaying the topic rebuilds them.
# `released_us` names the verdict that put the comment in its feed, and `announced_us` the one
# whose release was announced on feed.published.
_APPLY = """
local current = tonumber(redis.call('HGET', KEYS[1], 'decided_us') or '-1')
local decided = tonumber(ARGV[1])
redis.call('ZADD', KEYS[6], ARGV[1], ARGV[3])
if ARGV[7] == '1' then redis.call('ZADD', KEYS[9], ARGV[1], ARGV[3]) end
if current > decided then return 'stale' end
if current == decided then return 'duplicate' end
local previous = redis.call('HGET', KEYS[1], 'verdict')
if previous then redis.call('HINCRBY', KEYS[7], previous, -1) end
redis.call('HINCRBY', KEYS[7], ARGV[2], 1)
redis.call('ZADD', KEYS[8], ARGV[4], ARGV[5])
redis.call('ZREMRANGEBYRANK', KEYS[8], 0, -201)
redis.call('HSET', KEYS[1], 'decided_us', ARGV[1], 'decision', ARGV[3], 'verdict', ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[5])
redis.call('ZREM', KEYS[5], ARGV[5])
if ARGV[2] == 'approved' then
  redis.call('ZREM', KEYS[3], ARGV[5])
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[5])
  if redis.call('ZADD', KEYS[2], 'NX', ARGV[4], ARGV[5]) == 1 then
    redis.call('HSET', KEYS[1], 'released_at', ARGV[6], 'released_us', ARGV[1])
    return 'released'
  end
  return 'duplicate'
end
redis.call('ZREM', KEYS[2], ARGV[5])
redis.call('HDEL', KEYS[1], 'released_at', 'released_us', 'announced_us')
if ARGV[2] == 'review' then
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
  return 'held'
end
redis.call('ZREM', KEYS[3], ARGV[5])
redis.call('ZADD', KEYS[5], ARGV[4], ARGV[5])
return 'rejected'
"""


def _micros(decision: CommentModerated) -> bytes:
    """The verdict's identity within a comment: its decision time in microseconds."""
    return str(int(decision.decided_at.timestamp() * 1_000_000)).encode()


def order_score(decision: CommentModerated) -> int:
    """Feeds and queues are oldest first by submission time, in microseconds (exact in a double)."""
    return int(decision.submitted_at.timestamp() * 1_000_000)


class CommentViews:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._apply = redis.register_script(_APPLY)

    async def apply(self, decision: CommentModerated, released_at: datetime) -> Outcome:
        """Apply one verdict; `released_at` is the verdict's time, so a rebuild reproduces it."""
        tenant, comment_id = decision.tenant_id, decision.comment_id
        author = decision.comment.author.id
        keys = [
            redis_keys.comment(tenant, comment_id),
            redis_keys.feed(tenant, decision.article_id),
            redis_keys.review(tenant),
            redis_keys.queue(tenant, Verdict.APPROVED),
            redis_keys.queue(tenant, Verdict.REJECTED),
            redis_keys.history(tenant, comment_id),
            redis_keys.author(tenant, author),
            redis_keys.author_comments(tenant, author),
            redis_keys.decisions(tenant),
        ]
        decided_us = int(decision.decided_at.timestamp() * 1_000_000)
        args = [
            decided_us,
            decision.verdict.value,
            decision.model_dump_json(),
            order_score(decision),
            comment_id,
            released_at.isoformat(),
            "1" if decision.decided_by != SYSTEM_DECIDER else "0",
        ]
        result = await self._apply(keys=keys, args=args)
        return Outcome(result.decode() if isinstance(result, bytes) else result)

    async def unannounced(self, decisions: Sequence[CommentModerated]) -> list[CommentModerated]:
        """The decisions that released their comment and whose release is not announced yet.

        Asked after `apply`, so a batch redelivered after a crash announces what the crash
        left unannounced, and a verdict seen twice is announced once.
        """
        async with self._redis.pipeline(transaction=False) as pipe:
            for d in decisions:
                key = redis_keys.comment(d.tenant_id, d.comment_id)
                pipe.hmget(key, ["released_us", "announced_us"])
            rows = await pipe.execute()
        return [
            d
            for d, (released, announced) in zip(decisions, rows, strict=True)
            if released is not None and released == _micros(d) and announced != released
        ]

    async def mark_announced(self, decisions: Sequence[CommentModerated]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for d in decisions:
                pipe.hset(redis_keys.comment(d.tenant_id, d.comment_id), "announced_us", _micros(d))
            await pipe.execute()

    async def state(self, tenant: str, comment_id: str) -> CommentState | None:
        states = await self.states(tenant, [comment_id])
        return states[0]

    async def states(self, tenant: str, comment_ids: Sequence[str]) -> list[CommentState | None]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for comment_id in comment_ids:
                pipe.hmget(redis_keys.comment(tenant, comment_id), ["decision", "released_at"])
            rows = await pipe.execute()
        return [
            CommentState(
                decision=CommentModerated.model_validate_json(decision),
                released_at=datetime.fromisoformat(released.decode()) if released else None,
            )
            if decision
            else None
            for decision, released in rows
        ]

    async def review_depth(self, tenant: str) -> int:
        return int(await self._redis.zcard(redis_keys.review(tenant)))

    async def review_oldest(self, tenant: str) -> datetime | None:
        """When the oldest comment waiting for a moderator was submitted; None if none waits."""
        rows: list[tuple[bytes, float]] = await self._redis.zrange(  # type: ignore[assignment]
            redis_keys.review(tenant), 0, 0, withscores=True
        )
        return datetime.fromtimestamp(rows[0][1] / 1_000_000, UTC) if rows else None

    async def review_tenants(self) -> set[str]:
        """Tenants with comments waiting for a moderator."""
        keys = self._redis.scan_iter(match=redis_keys.REVIEW_PATTERN, count=500)
        return {redis_keys.review_tenant(k.decode()) async for k in keys}

    async def history(self, tenant: str, comment_id: str) -> list[CommentModerated]:
        """Every verdict the comment received, machine and human, oldest first."""
        raw: list[bytes] = await self._redis.zrange(redis_keys.history(tenant, comment_id), 0, -1)  # type: ignore[assignment]  # no withscores: members only
        return [CommentModerated.model_validate_json(entry) for entry in raw]


def verdict_status(state: CommentState) -> str:
    if state.decision.verdict is Verdict.APPROVED:
        return "released" if state.released_at else "approved"
    return "held" if state.decision.verdict is Verdict.REVIEW else "rejected"
