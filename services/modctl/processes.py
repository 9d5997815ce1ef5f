"""The services as processes: started, polled until ready, stopped gracefully.

One runner serves `modctl up`/`run`/`down` (fixed ports, pid files, left running between
commands) and the test suite, soak and benchmarks (free ports, a process handle each).
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".data"
SERVICE_NAMES = ("ingest", "moderation", "publisher", "perspective", "webhooks")
DEFAULT_PORTS = dict(zip(SERVICE_NAMES, range(8000, 8005), strict=True))
# Models load from local files only: a hub lookup with no network hangs for about 30 s.
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return True
        time.sleep(0.05)
    return False


def wait_until_ok(
    url: str, running: Callable[[], bool], name: str, log: Path, timeout: float
) -> None:
    """Poll `url` until it answers 200; a process that stops `running` fails at once."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not running():
            raise RuntimeError(f"{name} exited during start-up; see {log}")
        try:
            response = httpx.get(url, timeout=2.0)
            if response.status_code == 200:
                return
            last = response.text[:200]
        except httpx.HTTPError as error:
            last = repr(error)
        time.sleep(0.2)
    raise TimeoutError(f"{name} not ready after {timeout:.0f}s ({last}); see {log}")


@dataclass
class ServiceProcess:
    """`python -m services.<name>` on `port`, its output in a log file.

    With a `pid_file` the process runs in a session of its own and outlives this one: a later
    `modctl down` finds it by that file. Without one, the handle in `process` is what counts.
    """

    name: str
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    log_dir: Path = DATA / "test-logs"
    pid_file: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.log_dir / f"{self.name}-{self.port}.log"

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **OFFLINE, **self.env, f"{self.name.upper()}_PORT": str(self.port)}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.name}"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=self.pid_file is not None,
            )
        if self.pid_file is not None:
            self.pid_file.parent.mkdir(parents=True, exist_ok=True)
            self.pid_file.write_text(str(self.process.pid))

    def pid(self) -> int | None:
        if self.process is not None:
            return self.process.pid
        if self.pid_file is None:
            return None
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def running(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        pid = self.pid()
        return pid is not None and _alive(pid)

    def wait_ready(self, timeout: float = 120.0) -> None:
        wait_until_ok(f"{self.url}/health/ready", self.running, self.name, self.log, timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 40.0) -> bool:
        """`sig` (SIGTERM: in-flight batches finish), SIGKILL after `timeout`; True if it ran."""
        pid = self.pid()
        was_running = pid is not None and self.running()
        if was_running and pid is not None:
            os.kill(pid, sig)
            deadline = time.monotonic() + timeout
            while self.running() and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.running():
                os.kill(pid, signal.SIGKILL)
                while self.running():
                    time.sleep(0.05)
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)
        return was_running


@contextmanager
def started(service: ServiceProcess, timeout: float = 120.0) -> Iterator[ServiceProcess]:
    """The service started and ready for the block; stopped after it, however it ends."""
    try:
        service.start()
        service.wait_ready(timeout)
        yield service
    finally:
        service.stop()


def _alive(pid: int) -> bool:
    """True while `pid` runs; reaps it when it is our exited child."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def services() -> list[ServiceProcess]:
    """The local system's services on their fixed ports (INGEST_PORT and so on)."""
    return [
        ServiceProcess(
            name,
            port=int(os.environ.get(f"{name.upper()}_PORT", str(DEFAULT_PORTS[name]))),
            log_dir=DATA / "logs",
            pid_file=DATA / "run" / f"{name}.pid",
        )
        for name in SERVICE_NAMES
    ]
