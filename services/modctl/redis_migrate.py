"""Move a Redis of the earlier key layout (no hash tags) to the current one, or copy a Redis of
either layout to another topology (a standalone server to a cluster, say).

Every key is copied with DUMP and RESTORE (type, value and time to live kept) under its name
in the current layout (`services.common.redis_keys`). Three earlier keys held every tenant's
entries in one place and are split by the tenant of each entry: the desk's pending decisions,
and the webhooks' due schedule and dead letters. The source is read, never changed, unless the
move is in place (the same server), where a renamed key's old name is deleted once copied.
"""

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

from services.common import redis_keys
from services.common.redis_client import RedisClient
from services.common.redis_keys import as_text

# Earlier keys named `{prefix}:{tenant}` or `{prefix}:{tenant}:{rest}`: the tenant becomes a tag.
TENANT_PREFIXES = (
    "comment",
    "feed",
    "review",
    "queue",
    "decisions",
    "verdict-day",
    "verdict-day-seen",
    "held-waits",
    "history",
    "author",
    "author-comments",
    "policy",
    "policy-changes",
    "adaptations",
    "audit",
    "tenant",
    "api-keys",
)
# Earlier cross-tenant queues whose entries are `{tenant}/{id}`.
SPLIT_QUEUES = {"desk-pending", "webhook-due", "webhook-dead"}


@dataclass(frozen=True)
class Tenants:
    """The tenants the source knows, to find where a tenant id with `:` in it ends."""

    names: frozenset[str]

    def split(self, rest: str) -> tuple[str, str]:
        """(tenant, what follows it) of `tenant[:more]`: the longest known tenant that fits,
        else the part before the first `:`."""
        fitting = [n for n in self.names if rest == n or rest.startswith(n + ":")]
        tenant = max(fitting, key=len) if fitting else rest.partition(":")[0]
        return tenant, rest[len(tenant) + 1 :]


def new_name(key: str, tenants: Tenants) -> str:
    """The key's name in the current layout (keys of the current layout are returned as they
    are: only they have a `{`)."""
    if "{" in key:
        return key
    prefix, _, rest = key.partition(":")
    if prefix in TENANT_PREFIXES and rest:
        tenant, more = tenants.split(rest)
        return f"{prefix}:{{{tenant}}}" + (f":{more}" if more else "")
    if prefix == "desk-pending" and rest:
        return redis_keys.pending_decision_bodies(rest)
    if prefix == "webhook-delivery" and rest:
        tenant, delivery = tenants.split(rest)
        return redis_keys.webhook_delivery(tenant, delivery)
    if prefix == "webhook-log" and rest:
        return redis_keys.webhook_log(rest)
    return key


def _split_queue_key(name: str, tenant: str) -> str:
    shard = redis_keys.shard(tenant)
    return {
        "desk-pending": redis_keys.pending_decisions,
        "webhook-due": redis_keys.webhook_due,
        "webhook-dead": redis_keys.webhook_dead,
    }[name](shard)


async def _keys(redis: RedisClient) -> AsyncIterator[str]:
    async for key in redis.scan_iter(count=1000):
        yield as_text(key)


async def migrate(source: RedisClient, target: RedisClient, *, in_place: bool) -> Counter[str]:
    """Copy every key of `source` into `target` under its current name; counts of what was
    done. `in_place`: source and target are one server, so only renamed keys are copied and
    their old names deleted."""
    raw = await source.smembers(redis_keys.tenants())
    tenants = Tenants(frozenset(as_text(t) for t in raw))
    done: Counter[str] = Counter()
    async for key in _keys(source):
        if key in SPLIT_QUEUES:
            await _split(source, target, key)
            done["split"] += 1
        else:
            name = new_name(key, tenants)
            if in_place and name == key:
                done["kept"] += 1
                continue
            if not await _copy(source, target, key, name):
                done["expired"] += 1
                continue
            done["renamed" if name != key else "copied"] += 1
        if in_place:
            await source.delete(key)
    return done


async def _copy(source: RedisClient, target: RedisClient, key: str, name: str) -> bool:
    """DUMP and RESTORE with the time left to live; False if the key expired meanwhile."""
    dumped = await source.dump(key)
    if dumped is None:
        return False
    ttl_ms = int(await source.pttl(key))
    await target.restore(name, max(ttl_ms, 0), dumped, replace=True)
    return True


async def _split(source: RedisClient, target: RedisClient, key: str) -> None:
    """An earlier cross-tenant queue into its shards, entries kept with their scores."""
    if key == "webhook-dead":
        for ref in await source.lrange(key, 0, -1):
            tenant = as_text(ref).partition("/")[0]
            await target.rpush(_split_queue_key(key, tenant), ref)
        return
    entries: list[tuple[bytes, float]] = await source.zrange(  # type: ignore[assignment]
        key, 0, -1, withscores=True
    )
    for member, score in entries:
        tenant = as_text(member).partition("/")[0]
        await target.zadd(_split_queue_key(key, tenant), {member: score})
