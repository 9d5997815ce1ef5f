"""The replica barrier: a WAIT in the hash slot of the keys written, and a master without
replicas logged rather than waited for (tests/faults/test_redis_topologies.py waits on real
replicas of a cluster and of Sentinel)."""

import logging

import pytest
from redis.asyncio import Redis

from services.common import redis_keys
from services.common.replication import ReplicaBarrier


def test_the_barrier_key_shares_the_slot_of_the_key_written() -> None:
    assert redis_keys.replication_barrier(redis_keys.review("t:1")) == "replicated:{t:1}"
    shard = redis_keys.pending_decisions(3)
    assert redis_keys.replication_barrier(shard) == "replicated:{desk-3}"
    assert redis_keys.replication_barrier("score:m:abc") == "replicated:{score:m:abc}"


async def test_a_master_without_replicas_is_not_waited_for_and_says_so(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    barrier = ReplicaBarrier(redis, replicas=1, timeout_ms=5000)
    with caplog.at_level(logging.WARNING, logger="services.common.replication"):
        await barrier.wait([redis_keys.review("t")])
        await barrier.wait([redis_keys.review("t")])
    warnings = [r for r in caplog.records if "without its replicas" in r.getMessage()]
    assert len(warnings) == 1  # once, as the state began
    assert await redis.exists("replicated:{t}") == 0  # nothing written: no WAIT was needed


async def test_no_replicas_asked_for_writes_nothing(redis: Redis) -> None:
    await ReplicaBarrier(redis, replicas=0, timeout_ms=5000).wait([redis_keys.review("u")])
    assert await redis.exists("replicated:{u}") == 0
