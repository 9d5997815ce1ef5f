"""The pipeline on a three-broker cluster (replication 3, min.insync.replicas 2), as production
runs it: the leader of a partition is killed mid-stream and nothing is lost or doubled."""

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.contract import Topic
from services.common.settings import KafkaSettings
from services.common.topics import ensure_topics
from services.modctl.testbed.infra import new_redis
from services.modctl.testbed.stream import Stream, count
from tests.conftest import unique, wait_for_port
from tests.faults.test_crashes import assert_complete
from tests.processes import ROOT, System, running_system, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.faults]
SCRIPT = ROOT / "deploy" / "kafka" / "cluster.sh"


def free_base_port() -> int:
    """Six consecutive free ports: each node has a client and a controller port."""
    for base in range(20100, 29000, 20):
        if not any(wait_for_port("127.0.0.1", p, timeout=0.05) for p in range(base, base + 6)):
            return base
    pytest.fail("no six consecutive free ports for the cluster")


class Cluster:
    def __init__(self, data_dir: Path) -> None:
        self.env = {
            **os.environ,
            "KAFKA_CLUSTER_BASE_PORT": str(free_base_port()),
            "KAFKA_CLUSTER_DATA_DIR": str(data_dir),
        }

    def run(self, *args: str) -> str:
        done = subprocess.run(
            ["bash", str(SCRIPT), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        return done.stdout.strip()

    def leader(self, topic: str, partition: int) -> str | None:
        done = subprocess.run(
            ["bash", str(SCRIPT), "leader", topic, str(partition)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return done.stdout.strip() if done.returncode == 0 else None


@pytest.fixture(scope="module")
def cluster_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, System]]:
    root = tmp_path_factory.mktemp("cluster")
    cluster, redis = Cluster(root / "kafka"), new_redis(root / "redis")
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


def test_partition_leader_killed_mid_stream(cluster_system: tuple[Cluster, System]) -> None:
    cluster, system = cluster_system
    stream = Stream(system, unique("cluster"), unique("a"), 1000)
    stream.create_article()
    stream.start()
    wait_for(lambda: True if stream.posted >= 300 else None, what="the stream under way")
    topic = system.kafka.topic(Topic.COMMENTS_SUBMITTED)
    leader = wait_for(lambda: cluster.leader(topic, 0), what="the leader of partition 0")
    cluster.run("kill-node", leader)
    stream.join()
    assert_complete(count(stream, within_seconds=240), stream)
    assert wait_for(lambda: cluster.leader(topic, 0), what="a new leader") != leader
