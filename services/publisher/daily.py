"""Each tenant's verdicts by UTC day: how many comments the machine decided and held, which model
version decided them, and how long the held ones waited for a moderator.

A view like the feeds: written as the publisher applies each verdict (after
`CommentViews.apply`, whose history it reads), rebuilt by replaying comments.moderated, and
idempotent under redelivery without help from the other views: a comment counts once a day (the
ids counted are kept beside the counts, in one script), and a wait is keyed by the comment and
the moment it was held. The desk's insights page and the held-share metrics read it.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from services.common import redis_keys
from services.common.contract import SYSTEM_DECIDER, CommentModerated, Verdict
from services.common.redis_client import RedisClient

# KEYS: the day's counts, the day's counted ids. ARGV: comment id, verdict, model version.
# 1 when the comment was counted now, 0 when it was counted that day before.
_COUNT = """
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'comments', 1)
redis.call('HINCRBY', KEYS[1], 'verdict:' .. ARGV[2], 1)
redis.call('HINCRBY', KEYS[1], 'model:' .. ARGV[3], 1)
return 1
"""


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def micros(moment: datetime) -> int:
    """A verdict's time as the views key it: microseconds since the epoch."""
    return int(moment.timestamp() * 1_000_000)


@dataclass(frozen=True)
class Recorded:
    """What applying one verdict added: a machine verdict counted for its day, or the wait of a
    held comment that a moderator decided (None when neither, or when seen before)."""

    counted: bool = False
    waited_seconds: float | None = None


@dataclass(frozen=True)
class DayCounts:
    """One day of a tenant: machine-decided comments, by verdict and by model version, and the
    waits (seconds) of the held comments moderators decided that day."""

    day: date
    comments: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    models: dict[str, int] = field(default_factory=dict)
    waits: list[float] = field(default_factory=list)

    @property
    def held(self) -> int:
        return self.verdicts.get(Verdict.REVIEW.value, 0)


class DailyView:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._count = redis.register_script(_COUNT)

    async def record(self, decision: CommentModerated) -> Recorded:
        """Add one verdict; call it after `CommentViews.apply` has applied it."""
        tenant = decision.tenant_id
        if decision.decided_by == SYSTEM_DECIDER:
            day = day_of(decision.decided_at).isoformat()
            keys = [redis_keys.verdict_day(tenant, day), redis_keys.verdict_day_seen(tenant, day)]
            args = [decision.comment_id, decision.verdict.value, decision.model_version]
            return Recorded(counted=bool(await self._count(keys=keys, args=args)))
        held_at = await self._held_at(decision)
        if held_at is None:
            return Recorded()
        waited = max((decision.decided_at - held_at).total_seconds(), 0.0)
        key = redis_keys.held_waits(tenant, day_of(decision.decided_at).isoformat())
        added = await self._redis.zadd(key, {f"{decision.comment_id}@{micros(held_at)}": waited})
        return Recorded(waited_seconds=waited if added else None)

    async def _held_at(self, decision: CommentModerated) -> datetime | None:
        """When the machine held the comment, if its verdict just before this one held it: the
        first moderator verdict after a hold ends the wait; a later one (a take-down) does not."""
        key = redis_keys.history(decision.tenant_id, decision.comment_id)
        before: list[bytes] = await self._redis.zrevrangebyscore(  # type: ignore[assignment]
            key, f"({micros(decision.decided_at)}", "-inf", start=0, num=1
        )
        if not before:
            return None
        previous = CommentModerated.model_validate_json(before[0])
        if previous.decided_by == SYSTEM_DECIDER and previous.verdict is Verdict.REVIEW:
            return previous.decided_at
        return None

    async def days(self, tenant: str, first: date, last: date) -> list[DayCounts]:
        """Every day from `first` to `last`, oldest first; days without verdicts are zeros."""
        span = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for day in span:
                pipe.hgetall(redis_keys.verdict_day(tenant, day.isoformat()))
                pipe.zrange(redis_keys.held_waits(tenant, day.isoformat()), 0, -1, withscores=True)
            raw = await pipe.execute()
        return [
            _day(day, counts, waits)
            for day, counts, waits in zip(span, raw[0::2], raw[1::2], strict=True)
        ]


def _day(day: date, counts: dict[bytes, bytes], waits: Sequence[tuple[bytes, float]]) -> DayCounts:
    fields = {redis_keys.as_text(k): int(v) for k, v in counts.items()}

    def prefixed(prefix: str) -> dict[str, int]:
        return {k.removeprefix(prefix): n for k, n in fields.items() if k.startswith(prefix)}

    return DayCounts(
        day=day,
        comments=fields.get("comments", 0),
        verdicts=prefixed("verdict:"),
        models=prefixed("model:"),
        waits=[float(score) for _, score in waits],
    )
