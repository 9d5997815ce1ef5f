"""The local Kafka and Redis that `make run` starts: what already listens on their ports, and
wiping their data for a clean start.

deploy/kafka/kafka.sh and deploy/redis/redis.sh keep each server's data and pid file in one
directory; the defaults here are theirs.
"""

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from services.modctl.processes import DATA, ROOT

WIPE_COMMAND = ".venv/bin/modctl down --wipe"
CLEAN_START = f"to start clean: {WIPE_COMMAND}, then make run"


@dataclass(frozen=True)
class LocalServer:
    name: str  # "kafka" or "redis"
    port: int
    data_dir: Path

    @property
    def pid_file(self) -> Path:
        return self.data_dir / f"{self.name}.pid"

    @property
    def script(self) -> str:
        return f"{self.name}/{self.name}.sh"

    def run_script(self, action: str) -> str:
        """deploy/<name>/<name>.sh ACTION (they install what is missing); its output, or an
        error carrying its last lines."""
        result = subprocess.run(
            ["bash", str(ROOT / "deploy" / self.script), action],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
            raise RuntimeError(
                " | ".join(tail) or f"{self.script} {action}: exit {result.returncode}"
            )
        return result.stdout

    def has_data(self) -> bool:
        """Whether an earlier run left data here (Kafka's formatted storage, Redis's files)."""
        kept = ("data/meta.properties",) if self.name == "kafka" else ("dump.rdb", "appendonlydir")
        return any((self.data_dir / name).exists() for name in kept)

    def our_pid(self) -> int | None:
        """The pid the start script recorded, if that process still runs."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if Path(f"/proc/{pid}").exists() else None


def local_servers() -> list[LocalServer]:
    """Kafka and Redis as the start scripts see them (KAFKA_PORT, KAFKA_DATA_DIR and so on)."""
    servers = []
    for name, default_port in (("kafka", 9092), ("redis", 6379)):
        port = int(os.environ.get(f"{name.upper()}_PORT", str(default_port)))
        default_dir = DATA / (name if port == default_port else f"{name}-{port}")
        data_dir = Path(os.environ.get(f"{name.upper()}_DATA_DIR", str(default_dir)))
        servers.append(LocalServer(name, port, data_dir))
    return servers


def listening_pid(port: int) -> int | None:
    """The process listening on TCP `port` on this machine, read from /proc (Linux)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{inode}]")
    for process in Path("/proc").iterdir():
        if not process.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (process / "fd").iterdir()):
                return int(process.name)
        except OSError:
            continue
    return None


def command_line(pid: int, width: int = 60) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    text = raw.replace(b"\0", b" ").decode(errors="replace").strip()
    return text if len(text) <= width else text[: width - 3] + "..."


def describe_reuse(server: LocalServer) -> str:
    """One line for a server that already listens: which process, which data, how to start
    clean."""
    pid = listening_pid(server.port)
    where = f"127.0.0.1:{server.port}"
    data = _shown(server.data_dir)
    if pid is not None and pid == server.our_pid():
        return (
            f"reusing the one already on {where} (pid {pid}) with the data of an earlier run "
            f"in {data}; {CLEAN_START}"
        )
    process = f"pid {pid}: {command_line(pid)}" if pid is not None else "process unknown"
    return (
        f"reusing what already listens on {where} ({process}); it was not started from this "
        f"checkout, so its data is its own: stop it for a clean start"
    )


def wipe(server: LocalServer) -> bool:
    """Delete the server's data directory; refused while the server started there runs.
    True if there was something to delete."""
    pid = server.our_pid()
    if pid is not None:
        raise RuntimeError(f"{server.name} (pid {pid}) still runs on {server.data_dir}")
    if not server.data_dir.exists():
        return False
    shutil.rmtree(server.data_dir)
    return True


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)
