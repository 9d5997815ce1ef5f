"""The replicated topologies of deploy/ on ports and a data dir of their own: the three-broker
Kafka (deploy/kafka/cluster.sh), the Redis Cluster (deploy/redis/cluster.sh) and Redis with
Sentinel (deploy/redis/sentinel.sh), for the fault tests and the scale benchmark."""

import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from services.common.settings import RedisSettings
from services.modctl.processes import ROOT

# Per script: the environment prefix, how many consecutive ports it uses, whether each also
# needs port + 10000 (a Redis Cluster node's bus), and where to look for free ones (apart, so
# beds created before any of them starts do not pick the same ports).
_LAYOUT = {
    "kafka/cluster": ("KAFKA_CLUSTER", 6, False, 20100),
    "redis/cluster": ("REDIS_CLUSTER", 6, True, 21000),
    "redis/sentinel": ("REDIS_SENTINEL", 13, False, 22000),
}


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def free_base_port(width: int, bus: bool, start: int) -> int:
    """The first of `width` consecutive free ports (and the same + 10000 when `bus`)."""
    for base in range(start, start + 5000, 50):
        ports = list(range(base, base + width))
        ports += [p + 10000 for p in ports] if bus else []
        if all(_free(p) for p in ports):
            return base
    raise RuntimeError(f"no {width} consecutive free ports")


@dataclass
class ScriptCluster:
    """One of the scripts above, driven with its own ports and data dir."""

    script: str  # "redis/cluster", "redis/sentinel" or "kafka/cluster"
    env: dict[str, str]

    @classmethod
    def create(cls, script: str, data_dir: Path) -> "ScriptCluster":
        prefix, width, bus, start = _LAYOUT[script]
        env = {
            **os.environ,
            f"{prefix}_BASE_PORT": str(free_base_port(width, bus, start)),
            f"{prefix}_DATA_DIR": str(data_dir),
        }
        return cls(script, env)

    @property
    def name(self) -> str:
        return self.script.split("/")[1] if self.script.startswith("redis") else "kafka"

    def run(self, *args: str, check: bool = True) -> str:
        found = self.try_run(*args)
        if found is None and check:
            raise RuntimeError(f"deploy/{self.script}.sh {' '.join(args)} failed")
        return found or ""

    def try_run(self, *args: str) -> str | None:
        """The output, or None when the command failed (a leader not elected yet, say)."""
        done = subprocess.run(
            ["bash", str(ROOT / "deploy" / f"{self.script}.sh"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return done.stdout.strip() if done.returncode == 0 else None

    def redis_settings(self) -> RedisSettings:
        if self.script == "redis/cluster":
            return RedisSettings(
                mode="cluster", url="redis://127.0.0.1/0", cluster_nodes=self.run("nodes")
            )
        return RedisSettings(
            mode="sentinel",
            url="redis://127.0.0.1/0",
            sentinels=self.run("sentinels"),
            sentinel_master=self.env.get("REDIS_SENTINEL_MASTER", "moderation"),
        )

    def master_of(self, key: str) -> str:
        """A Redis set-up's node number of the master that holds `key`."""
        return self.run("master-of", key) if self.name == "cluster" else self.run("master")

    def wait_recovered(self) -> None:
        """Until a Redis set-up has a master for every slot again."""
        self.run("wait-ok" if self.name == "cluster" else "wait-master")

    def pids(self) -> list[int]:
        """The processes the script started (from its pid files)."""
        data = Path(self.env[_LAYOUT[self.script][0] + "_DATA_DIR"])
        found = []
        for pid_file in data.glob("*/*.pid"):
            text = pid_file.read_text().strip()
            if text.isdigit() and Path(f"/proc/{text}").exists():
                found.append(int(text))
        return found
