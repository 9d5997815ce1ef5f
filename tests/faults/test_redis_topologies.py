"""The pipeline on a Redis Cluster (three masters, three replicas) and on Sentinel (a master,
two replicas, three Sentinels), as production runs them: end to end, then with the master of
the tenant's slot killed mid-stream. Nothing may be lost or shown twice, the feed and the desk
keep answering, and the time until writes succeed again is measured."""

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.common import redis_keys
from services.common.replication import ReplicaBarrier
from services.common.settings import KafkaSettings
from services.common.topics import ensure_topics
from services.modctl.processes import DATA
from services.modctl.testbed.clusters import ScriptCluster
from services.modctl.testbed.infra import new_redis
from services.modctl.testbed.processes import redis_env
from services.modctl.testbed.stream import Stream, count
from tests.conftest import delete_topics, unique
from tests.e2e.desk_helpers import add_moderator, signed_in, wait_status
from tests.faults.test_crashes import assert_complete
from tests.modctl.test_redis_migrate import (
    assert_reads_as_before,
    migrate_command,
    write_earlier_layout,
)
from tests.processes import System, running_system, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.faults]
REPORT = DATA / "test-logs" / "redis-failover.txt"


@pytest.fixture(scope="module", params=["cluster", "sentinel"])
def topology_system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str
) -> Iterator[tuple[ScriptCluster, System]]:
    root = tmp_path_factory.mktemp("redis")
    topology = ScriptCluster.create(f"redis/{request.param}", root / request.param)
    topology.run("start")
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap, namespace=f"{unique('redis')}.")
    asyncio.run(ensure_topics(kafka))
    try:
        with running_system(kafka, topology.redis_settings()) as system:
            yield topology, system
    finally:
        asyncio.run(delete_topics(kafka))
        topology.run("reset", check=False)


def new_stream(system: System, total: int) -> Stream:
    stream = Stream(system, unique("redis"), unique("a"), total)
    stream.create_article()
    return stream


def assert_desk_and_feed_answer(system: System, stream: Stream) -> None:
    """The feed, a comment's status and the desk answer, and a moderator's decision (through
    its undo window, Kafka and the views) takes effect."""
    moderator = add_moderator(system.redis, stream.tenant)
    first = stream.ids[0]
    with signed_in(system, moderator) as (client, csrf):
        counts = client.get("/moderate/counts", params={"tenant": stream.tenant})
        assert counts.status_code == 200, counts.text
        body = {"tenant": stream.tenant, "comment_ids": [first], "action": "reject"}
        body["category"] = "scams_and_fraud"
        decided = client.post("/moderate/decide", json=body, headers={"X-CSRF-Token": csrf})
        assert decided.status_code == 202, decided.text
    assert wait_status(system, stream.tenant, first, "rejected")["decided_by"] == moderator.username
    feed = httpx.get(
        f"{system.publisher.url}/v1/articles/{stream.article_id}/comments",
        params={"tenant": stream.tenant, "limit": 5},
    )
    assert feed.status_code == 200, feed.text
    for service in system.all():
        ready = httpx.get(f"{service.url}/health/ready").json()
        assert ready["status"] == "ok", (service.name, ready)


def test_pipeline_end_to_end(topology_system: tuple[ScriptCluster, System]) -> None:
    topology, system = topology_system
    stream = new_stream(system, 300)
    stream.start()
    stream.join()
    assert_complete(count(stream), stream)
    assert_desk_and_feed_answer(system, stream)
    # The tenant's views share one slot: the cluster answers for all of them from one master.
    if topology.name == "cluster":
        views = [
            redis_keys.review(stream.tenant),
            redis_keys.feed(stream.tenant, stream.article_id),
            redis_keys.comment(stream.tenant, stream.ids[0]),
        ]
        assert len({topology.master_of(k) for k in views}) == 1


def kill_and_time_writes(topology: ScriptCluster, node: str, key: str) -> float:
    """Kill -9 `node`, then write `key` until a write succeeds: the seconds in between. The
    client starts before the kill, as the services' clients did."""

    async def run() -> float:
        async with topology.redis_settings().client() as client:
            await client.set(key, "0", px=60_000)
            topology.run("kill-node", node)
            killed_at = time.monotonic()
            async with asyncio.timeout(120):
                while True:
                    try:
                        await client.set(key, "1", px=60_000)
                        return time.monotonic() - killed_at
                    except RedisError:
                        await asyncio.sleep(0.05)

    return asyncio.run(run())


def test_master_killed_mid_stream(topology_system: tuple[ScriptCluster, System]) -> None:
    topology, system = topology_system
    stream = new_stream(system, 1000)
    stream.start()
    wait_for(lambda: True if stream.posted >= 300 else None, what="the stream under way")
    slot_key = redis_keys.review(stream.tenant)
    master = topology.master_of(slot_key)
    probe = "failover-probe:{" + stream.tenant + "}"  # the views' slot, a key of its own
    writable_after = kill_and_time_writes(topology, master, probe)
    stream.join()
    tally = count(stream, within_seconds=240)
    assert_complete(tally, stream)
    topology.wait_recovered()
    assert topology.master_of(slot_key) != master
    assert_desk_and_feed_answer(system, stream)
    topology.run("start-node", master)  # back, as a replica of the new master
    topology.wait_recovered()
    assert topology.master_of(slot_key) != master
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with REPORT.open("a") as report:
        line = f"{topology.name}: writes again {writable_after:.2f} s after kill -9; {tally.line()}"
        report.write(line + "\n")


def test_standalone_redis_migrates_into_it(
    topology_system: tuple[ScriptCluster, System], tmp_path: Path
) -> None:
    """`modctl redis migrate --from` moves a standalone Redis of the earlier layout over."""
    topology, _ = topology_system
    source = new_redis(tmp_path / "standalone")
    source.start()
    try:

        async def earlier() -> tuple[str, str]:
            async with Redis.from_url(source.url) as redis:
                return await write_earlier_layout(redis)

        ids = asyncio.run(earlier())
        env = {**os.environ, **redis_env(topology.redis_settings())}
        out = migrate_command(env, "--from", source.url)
        assert "split=3" in out, out

        async def check() -> None:
            async with topology.redis_settings().client() as redis:
                await assert_reads_as_before(redis, *ids)

        asyncio.run(check())
    finally:
        source.stop()


def test_the_publishers_writes_wait_for_a_replica(
    topology_system: tuple[ScriptCluster, System],
) -> None:
    """On every master the keys live on, a replica acknowledges the barrier's write."""
    topology, _ = topology_system
    slots = [redis_keys.review(f"t{n}") for n in range(12)]  # over several masters
    masters = len({topology.master_of(k) for k in slots})
    assert masters == (3 if topology.name == "cluster" else 1)

    async def wait() -> None:
        async with topology.redis_settings().client() as redis:
            barrier = ReplicaBarrier(redis, replicas=1, timeout_ms=5000)
            try:
                await barrier.wait(slots)
            finally:
                await barrier.close()
            barriers = {redis_keys.replication_barrier(k) for k in slots}
            written = [key for key in barriers if await redis.exists(key)]
            # One WAIT per master: on a single master (Sentinel), one covers every slot.
            assert len(written) == len({topology.master_of(k) for k in written}) == masters

    asyncio.run(wait())
