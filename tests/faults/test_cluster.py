"""The pipeline on a three-broker cluster (replication 3, min.insync.replicas 2), as production
runs it: the leader of a partition is killed mid-stream and nothing is lost or doubled."""

import asyncio
from collections.abc import Iterator

import pytest

from services.common.contract import Topic
from services.common.settings import KafkaSettings
from services.common.topics import ensure_topics
from services.modctl.testbed.clusters import ScriptCluster
from services.modctl.testbed.infra import new_redis
from services.modctl.testbed.stream import Stream, count
from tests.conftest import unique
from tests.faults.test_crashes import assert_complete
from tests.processes import System, running_system, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.faults]


@pytest.fixture(scope="module")
def cluster_system(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ScriptCluster, System]]:
    root = tmp_path_factory.mktemp("cluster")
    cluster = ScriptCluster.create("kafka/cluster", root / "kafka")
    redis = new_redis(root / "redis")
    cluster.run("start")
    redis.start()
    try:
        settings = KafkaSettings(
            bootstrap_servers=cluster.run("bootstrap"), namespace=f"{unique('cluster')}."
        )
        asyncio.run(ensure_topics(settings, replication_factor=3))
        with running_system(settings, redis.url) as system:
            yield cluster, system
    finally:
        redis.stop()
        cluster.run("reset")


def test_partition_leader_killed_mid_stream(cluster_system: tuple[ScriptCluster, System]) -> None:
    cluster, system = cluster_system
    stream = Stream(system, unique("cluster"), unique("a"), 1000)
    stream.create_article()
    stream.start()
    wait_for(lambda: True if stream.posted >= 300 else None, what="the stream under way")
    topic = system.kafka.topic(Topic.COMMENTS_SUBMITTED)
    leader = wait_for(
        lambda: cluster.try_run("leader", topic, "0"), what="the leader of partition 0"
    )
    cluster.run("kill-node", leader)
    stream.join()
    assert_complete(count(stream, within_seconds=240), stream)
    assert wait_for(lambda: cluster.try_run("leader", topic, "0"), what="a new leader") != leader
