"""modctl redis migrate: a Redis written in the earlier key layout (no hash tags, cross-tenant
queues in one key each) reads the same through today's code once migrated, in place here and
into a cluster and Sentinel in tests/faults/test_redis_topologies.py."""

import os
import subprocess
import sys
import time

import pytest
from redis.asyncio import Redis

from services.common.contract import Verdict
from services.common.redis_client import RedisClient
from services.common.tenants import TenantStore, digest
from services.modctl.redis_migrate import Tenants, new_name
from services.publisher.desk.decisions import PendingDecisions
from services.publisher.views import CommentViews
from services.webhooks.deliveries import DeliveryStore
from tests.publisher.test_views import verdict

TENANT = "news:uk"  # a `:` in the tenant id: the migration must find where it ends
API_KEY = "mk_earlier-layout-key"
# Far ahead, so a running publisher does not send the decision before the test reads it.
UNDO_ENDS_MS = 4_000_000_000_000
MODCTL = "import sys; from services.modctl.cli import main; sys.exit(main(sys.argv[1:]))"


async def write_earlier_layout(redis: RedisClient) -> tuple[str, str]:
    """What the services wrote before hash tags: a tenant with a key, a held comment, a
    moderator decision in its undo window, a due and a dead webhook delivery."""
    held = verdict(TENANT, "a1", Verdict.REVIEW)
    pending = verdict(TENANT, "a1", Verdict.REJECTED, decided_by="mod")
    comment, us = held.comment_id, int(held.decided_at.timestamp() * 1_000_000)
    await redis.sadd("tenants", TENANT)
    await redis.hset(f"tenant:{TENANT}", mapping={"created_at": "1", "private_feeds": "0"})
    await redis.hset(
        f"api-key:{digest(API_KEY)}",
        mapping={"tenant": TENANT, "scopes": "ingest", "created_at": "1"},
    )
    await redis.sadd(f"api-keys:{TENANT}", digest(API_KEY))
    await redis.hset(
        f"comment:{TENANT}:{comment}",
        mapping={"decided_us": us, "decision": held.model_dump_json(), "verdict": "review"},
    )
    await redis.zadd(f"review:{TENANT}", {comment: us})
    await redis.zadd(f"history:{TENANT}:{comment}", {held.model_dump_json(): us})
    await redis.zadd("desk-pending", {f"{TENANT}/{pending.comment_id}": UNDO_ENDS_MS})
    await redis.hset(f"desk-pending:{TENANT}", pending.comment_id, pending.model_dump_json())
    await redis.zadd("webhook-due", {f"{TENANT}/d1": time.time()})
    await redis.rpush("webhook-dead", f"{TENANT}/d0")
    return comment, pending.comment_id


async def assert_reads_as_before(redis: RedisClient, held_id: str, pending_id: str) -> None:
    tenants = TenantStore(redis)
    assert await tenants.tenant(TENANT) is not None
    key = await tenants.lookup(API_KEY)
    assert key is not None
    assert key.tenant == TENANT
    assert [k.digest for k in await tenants.keys(TENANT)] == [digest(API_KEY)]
    views = CommentViews(redis)
    assert await views.review_depth(TENANT) == 1
    assert await views.review_tenants() >= {TENANT}
    state = await views.state(TENANT, held_id)
    assert state is not None
    assert state.decision.verdict is Verdict.REVIEW
    assert len(await views.history(TENANT, held_id)) == 1
    pending = PendingDecisions(redis)
    assert await pending.pending_ids(TENANT) == {pending_id}
    claimed = await pending.claim(now_ms=UNDO_ENDS_MS)
    assert [d.comment_id for d in claimed] == [pending_id]
    deliveries = DeliveryStore(redis, schedule=[1.0], jitter=0.0)
    assert await deliveries.pending() == 1
    assert await deliveries.dead() == 1


def test_earlier_names_map_to_tagged_ones() -> None:
    tenants = Tenants(frozenset({"news:uk", "news"}))
    assert new_name("comment:news:uk:c1", tenants) == "comment:{news:uk}:c1"
    assert new_name("comment:news:c1", tenants) == "comment:{news}:c1"
    assert new_name("review:news:uk", tenants) == "review:{news:uk}"
    assert new_name("review:other", tenants) == "review:{other}"  # unknown: up to the first :
    assert new_name("review:{news}", tenants) == "review:{news}"  # already current
    assert new_name("score:embedded@v1:abc", tenants) == "score:embedded@v1:abc"  # untagged
    assert new_name("desk-pending:news:uk", tenants).endswith(":news:uk")
    assert new_name("desk-pending:news:uk", tenants).startswith("desk-pending:{desk-")


def migrate_command(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", MODCTL, "redis", "migrate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.asyncio
async def test_in_place_migration_reads_as_before(redis_url: str) -> None:
    url = redis_url.rsplit("/", 1)[0] + "/7"  # a database of its own
    async with Redis.from_url(url) as redis:
        await redis.flushdb()
        ids = await write_earlier_layout(redis)
        env = {**os.environ, "REDIS_URL": url, "REDIS_MODE": "standalone"}
        out = migrate_command(env, "--in-place")
        assert "renamed=" in out, out
        assert "split=3" in out, out
        assert await redis.exists("desk-pending", f"review:{TENANT}") == 0
        await assert_reads_as_before(redis, *ids)
        assert "renamed=" not in migrate_command(env, "--in-place")  # a second run: nothing
