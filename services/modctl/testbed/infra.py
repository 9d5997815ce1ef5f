"""A Kafka broker and a Redis of the bed's own, which it may stop and start."""

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from services.modctl.processes import ROOT, free_port, wait_for_port


@dataclass
class LocalKafka:
    data_dir: Path
    port: int
    controller_port: int

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _script(self, action: str) -> None:
        env = {
            **os.environ,
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "KAFKA_DATA_DIR": str(self.data_dir),
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
        }
        subprocess.run(
            ["bash", str(ROOT / "deploy/kafka/kafka.sh"), action],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        self._script("start")

    def stop(self) -> None:
        self._script("stop")


@dataclass
class LocalRedis:
    data_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server missing (`make test` installs it)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--save",
            "",
        ]
        self.process = subprocess.Popen(["redis-server", *args], stdout=subprocess.DEVNULL)
        if not wait_for_port("127.0.0.1", self.port):
            raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """SIGTERM: Redis flushes its append-only file, so what it had survives the restart."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


def new_kafka(data_dir: Path) -> LocalKafka:
    return LocalKafka(data_dir, free_port(), free_port())


def new_redis(data_dir: Path) -> LocalRedis:
    return LocalRedis(data_dir, free_port())
