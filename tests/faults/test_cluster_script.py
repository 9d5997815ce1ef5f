"""deploy/kafka/cluster.sh: the three-node cluster that fault-injection tests run against.

The quick tests check the command line and the port layout without starting anything. The
`kafka` one starts a real cluster in a temporary data directory, kills the leader of a
partition and checks that writes with acks=all go on with two of the three nodes.
"""

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.conftest import unique, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "kafka" / "cluster.sh"


def cluster(
    *args: str, env: dict[str, str], timeout: float = 180.0
) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def quiet_env(tmp_path: Path, base_port: int = 19192) -> dict[str, str]:
    return {
        "KAFKA_CLUSTER_BASE_PORT": str(base_port),
        "KAFKA_CLUSTER_DATA_DIR": str(tmp_path / "cluster"),
    }


def test_bootstrap_lists_the_three_client_ports(tmp_path: Path) -> None:
    result = cluster("bootstrap", env=quiet_env(tmp_path, 19192))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "127.0.0.1:19192,127.0.0.1:19194,127.0.0.1:19196"

    moved = cluster("bootstrap", env=quiet_env(tmp_path, 20000))
    assert moved.stdout.strip() == "127.0.0.1:20000,127.0.0.1:20002,127.0.0.1:20004"


def test_port_of_each_node(tmp_path: Path) -> None:
    env = quiet_env(tmp_path, 19192)
    assert [cluster("port", n, env=env).stdout.strip() for n in "123"] == [
        "19192",
        "19194",
        "19196",
    ]


@pytest.mark.parametrize(
    "args", [("port", "4"), ("kill-node", "0"), ("start-node", "x"), ("stop-node",)]
)
def test_rejects_a_bad_node_number(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = cluster(*args, env=quiet_env(tmp_path))
    assert result.returncode == 1
    assert "expected a node number 1, 2 or 3" in result.stderr


def test_usage_and_bad_base_port(tmp_path: Path) -> None:
    assert cluster("frobnicate", env=quiet_env(tmp_path)).returncode == 2
    bad = cluster("bootstrap", env={**quiet_env(tmp_path), "KAFKA_CLUSTER_BASE_PORT": "80"})
    assert bad.returncode == 1
    assert "KAFKA_CLUSTER_BASE_PORT" in bad.stderr


def test_status_and_stop_without_a_cluster(tmp_path: Path) -> None:
    env = quiet_env(tmp_path)
    status = cluster("status", env=env)
    assert status.returncode == 3  # not all three nodes serve (none was started here)
    assert status.stdout.count("node ") == 3
    assert cluster("stop", env=env).returncode == 0
    assert cluster("kill-node", "2", env=env).returncode == 0
    assert not (tmp_path / "cluster" / "node-2").exists()


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_scripts_are_shellcheck_clean() -> None:
    scripts = [ROOT / "deploy" / "kafka" / name for name in ("cluster.sh", "kafka.sh", "common.sh")]
    result = subprocess.run(
        ["shellcheck", "-x", *map(str, scripts)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


# --- a real cluster --------------------------------------------------------------------


@pytest.fixture
def running_cluster(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A three-node cluster of this test's own, in tmp_path; stopped and deleted afterwards."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("java not installed (Kafka 4 needs Java 17 or later)")
    base = int(os.environ.get("TEST_KAFKA_CLUSTER_BASE_PORT", "19192"))
    busy = [p for p in range(base, base + 6) if wait_for_port("127.0.0.1", p, timeout=0.1)]
    if busy:
        pytest.skip(f"ports {busy} are taken (set TEST_KAFKA_CLUSTER_BASE_PORT)")
    env = quiet_env(tmp_path, base)
    try:
        started = cluster("start", env=env, timeout=300)
        assert started.returncode == 0, started.stdout + started.stderr
        yield env
    finally:
        stopped = cluster("reset", env=env, timeout=120)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr


async def create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=3)])
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, request_timeout_ms=30000
    )
    await producer.start()
    try:
        for i, value in enumerate(values):
            await producer.send_and_wait(topic, value, partition=i % 3)
    finally:
        await producer.stop()


async def consume_all(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=unique("g"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(60):
            while len(values) < count:
                batches = await consumer.getmany(timeout_ms=500)
                values.extend(r.value or b"" for records in batches.values() for r in records)
        await consumer.commit()  # the offsets topic, replicated 3 ways too
    finally:
        await consumer.stop()
    return values


def leader_of(env: dict[str, str], topic: str, partition: int) -> str:
    return cluster("leader", topic, str(partition), env=env).stdout.strip()


@pytest.mark.kafka
@pytest.mark.timeout(600)
def test_survives_the_loss_of_a_partition_leader(running_cluster: dict[str, str]) -> None:
    env = running_cluster
    bootstrap = cluster("bootstrap", env=env).stdout.strip()
    topic = unique("faults")
    asyncio.run(create_topic(bootstrap, topic))
    before = [f"before-{i}".encode() for i in range(9)]
    asyncio.run(produce(bootstrap, topic, before))

    old_leader = leader_of(env, topic, 0)
    assert old_leader in {"1", "2", "3"}
    killed = cluster("kill-node", old_leader, env=env)
    assert killed.returncode == 0, killed.stderr
    assert cluster("status", env=env).returncode == 3

    # The controller moves leadership once the dead broker's session expires (~9 s).
    deadline = time.monotonic() + 60
    while (new_leader := leader_of(env, topic, 0)) in {old_leader, "none", ""}:
        assert time.monotonic() < deadline, "no new leader for partition 0 within 60 s"
        time.sleep(1)
    assert new_leader in {"1", "2", "3"} - {old_leader}

    # Two of three in sync is min.insync.replicas: acks=all writes still succeed.
    during = [f"during-{i}".encode() for i in range(9)]
    asyncio.run(produce(bootstrap, topic, during))
    assert sorted(asyncio.run(consume_all(bootstrap, topic, 18))) == sorted(before + during)

    restarted = cluster("start-node", old_leader, env=env, timeout=300)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert cluster("status", env=env).returncode == 0
