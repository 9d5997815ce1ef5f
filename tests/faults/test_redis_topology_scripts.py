"""deploy/redis/cluster.sh and deploy/redis/sentinel.sh: each topology starts on ports and in a
data directory of its own, survives the crash of its master, and is deleted by reset.

Needs Debian's redis-server and redis-cli; fails without them. About 11 s for the cluster and
20 s for Sentinel (most of it waiting for the Sentinels to turn the old master into a replica).
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "deploy" / "redis" / "cluster.sh"
SENTINEL = ROOT / "deploy" / "redis" / "sentinel.sh"

# Away from the defaults (17000 and 17100), so that a topology someone runs is left alone.
CLUSTER_BASE = 17600  # nodes 17600-17605, cluster bus 27600-27605
SENTINEL_BASE = 17700  # nodes 17700-17702, Sentinels 17710-17712


@pytest.fixture(autouse=True)
def redis_installed() -> None:
    """A missing Redis fails these tests, as everywhere in the suite (`make test` installs it)."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.fail("needs redis-server and redis-cli (`make test` installs them)")


def script(
    path: Path, *args: str, env: dict[str, str], timeout: float = 90.0
) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        ["bash", str(path), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ok(path: Path, *args: str, env: dict[str, str]) -> str:
    result = script(path, *args, env=env)
    assert result.returncode == 0, f"{path.name} {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout.strip()


def redis(port: int | str, *args: str, follow: bool = False, stdin: str | None = None) -> str:
    """redis-cli against 127.0.0.1:PORT; follow=True follows cluster redirections (-c)."""
    result = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *(["-c"] if follow else []), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return result.stdout.strip()


def topology_env(
    path: Path, prefix: str, base: int, data_dir: Path, start_timeout: int
) -> Iterator[dict[str, str]]:
    """The script's environment for one test; whatever it started is reset afterwards."""
    env = {
        f"{prefix}_BASE_PORT": str(base),
        f"{prefix}_DATA_DIR": str(data_dir),
        f"{prefix}_START_TIMEOUT": str(start_timeout),
        f"{prefix}_STOP_TIMEOUT": "10",
    }
    try:
        yield env
    finally:
        script(path, "reset", env=env)


@pytest.fixture
def cluster_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    yield from topology_env(CLUSTER, "REDIS_CLUSTER", CLUSTER_BASE, tmp_path / "cluster", 30)


@pytest.fixture
def sentinel_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    yield from topology_env(SENTINEL, "REDIS_SENTINEL", SENTINEL_BASE, tmp_path / "sentinel", 40)


def test_command_lines_without_starting_anything(tmp_path: Path) -> None:
    cluster = {"REDIS_CLUSTER_BASE_PORT": "20000", "REDIS_CLUSTER_DATA_DIR": str(tmp_path / "c")}
    assert ok(CLUSTER, "nodes", env=cluster) == ",".join(f"127.0.0.1:{20000 + i}" for i in range(6))
    assert ok(CLUSTER, "port", "6", env=cluster) == "20005"
    assert script(CLUSTER, "port", "7", env=cluster).returncode == 1
    assert script(CLUSTER, "frobnicate", env=cluster).returncode == 2
    assert script(CLUSTER, "status", env=cluster).returncode == 3

    sentinel = {"REDIS_SENTINEL_BASE_PORT": "20100", "REDIS_SENTINEL_DATA_DIR": str(tmp_path / "s")}
    assert (
        ok(SENTINEL, "sentinels", env=sentinel) == "127.0.0.1:20110,127.0.0.1:20111,127.0.0.1:20112"
    )
    assert ok(SENTINEL, "port", "3", env=sentinel) == "20102"
    assert script(SENTINEL, "kill-node", "4", env=sentinel).returncode == 1
    assert script(SENTINEL, "frobnicate", env=sentinel).returncode == 2
    assert script(SENTINEL, "status", env=sentinel).returncode == 3
    assert not (tmp_path / "c").exists()
    assert not (tmp_path / "s").exists()


def test_cluster_fails_over_a_killed_master(cluster_env: dict[str, str]) -> None:
    ok(CLUSTER, "start", env=cluster_env)
    status = ok(CLUSTER, "status", env=cluster_env)
    assert status.count(" master (pid") == 3, status
    assert status.count(" replica (pid") == 3, status
    assert ok(CLUSTER, "start", env=cluster_env)  # idempotent

    ports = [addr.split(":")[1] for addr in ok(CLUSTER, "nodes", env=cluster_env).split(",")]
    assert ports == [str(CLUSTER_BASE + i) for i in range(6)]
    for i, port in enumerate(ports):
        assert redis(port, "SET", f"key-{i}", f"value-{i}", follow=True) == "OK"
    for i, port in enumerate(reversed(ports)):
        assert redis(port, "GET", f"key-{i}", follow=True) == f"value-{i}"

    key = "key-0"
    master = int(ok(CLUSTER, "master-of", key, env=cluster_env))
    # Written on the master itself, and acknowledged by its replica before the crash.
    replicated = redis(ports[master - 1], stdin=f"SET {key} kept\nWAIT 1 5000\n")
    assert replicated.split() == ["OK", "1"], replicated

    ok(CLUSTER, "kill-node", str(master), env=cluster_env)
    ok(CLUSTER, "wait-ok", env=cluster_env)
    promoted = int(ok(CLUSTER, "master-of", key, env=cluster_env))
    assert promoted != master
    live = ports[promoted - 1]
    assert redis(live, "GET", key, follow=True) == "kept"
    assert script(CLUSTER, "status", env=cluster_env).returncode == 3  # a node is down

    ok(CLUSTER, "start-node", str(master), env=cluster_env)  # rejoins as a replica
    assert ok(CLUSTER, "master-of", key, env=cluster_env) == str(promoted)
    assert f"node {master}: 127.0.0.1:{ports[master - 1]} replica" in ok(
        CLUSTER, "status", env=cluster_env
    )

    ok(CLUSTER, "reset", env=cluster_env)
    assert not Path(cluster_env["REDIS_CLUSTER_DATA_DIR"]).exists()
    assert redis(live, "PING") != "PONG"


def test_sentinels_fail_over_a_killed_master(sentinel_env: dict[str, str]) -> None:
    ok(SENTINEL, "start", env=sentinel_env)
    status = ok(SENTINEL, "status", env=sentinel_env)
    assert status.count("reports master node 1") == 3, status
    assert ok(SENTINEL, "master", env=sentinel_env) == "1"
    replicated = redis(SENTINEL_BASE, stdin="SET kept yes\nWAIT 2 5000\n")
    assert replicated.split() == ["OK", "2"], replicated

    ok(SENTINEL, "kill-node", "1", env=sentinel_env)
    assert "master is node" in ok(SENTINEL, "wait-master", env=sentinel_env)
    promoted = int(ok(SENTINEL, "master", env=sentinel_env))
    assert promoted in (2, 3)
    assert redis(SENTINEL_BASE + promoted - 1, "GET", "kept") == "yes"
    assert script(SENTINEL, "status", env=sentinel_env).returncode == 3  # node 1 is down

    # The old master comes back as a master; wait-master waits until it is a replica.
    ok(SENTINEL, "start-node", "1", env=sentinel_env)
    ok(SENTINEL, "wait-master", env=sentinel_env)
    assert ok(SENTINEL, "master", env=sentinel_env) == str(promoted)
    assert "role:slave" in redis(SENTINEL_BASE, "INFO", "replication")
    ok(SENTINEL, "status", env=sentinel_env)

    ok(SENTINEL, "reset", env=sentinel_env)
    assert not Path(sentinel_env["REDIS_SENTINEL_DATA_DIR"]).exists()
