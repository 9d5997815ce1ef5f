"""deploy/kafka/cluster.sh: the command line and the port layout, without starting anything.

tests/faults/test_cluster.py runs the whole pipeline on a real three-node cluster.
"""

import os
import subprocess
from pathlib import Path

import pytest

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
