"""Starting and stopping the local system: Kafka, Redis and the services as processes."""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".data"


@dataclass(frozen=True)
class Service:
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return DATA / "run" / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return DATA / "logs" / f"{self.name}.log"


def services() -> list[Service]:
    env = os.environ
    return [
        Service("ingest", int(env.get("INGEST_PORT", "8000"))),
        Service("moderation", int(env.get("MODERATION_PORT", "8001"))),
        Service("publisher", int(env.get("PUBLISHER_PORT", "8002"))),
        Service("perspective", int(env.get("PERSPECTIVE_PORT", "8003"))),
        Service("webhooks", int(env.get("WEBHOOKS_PORT", "8004"))),
    ]


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def run_script(script: str, action: str) -> None:
    """deploy/<x>/<x>.sh: they install what is missing, and reuse what already runs."""
    subprocess.run(["bash", str(ROOT / "deploy" / script), action], check=True)


def start_service(service: Service) -> bool:
    """Start it unless something already answers on its port; True when this call started it."""
    if port_open("127.0.0.1", service.port):
        return False
    service.pid_file.parent.mkdir(parents=True, exist_ok=True)
    service.log_file.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    with service.log_file.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", f"services.{service.name}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    service.pid_file.write_text(str(process.pid))
    return True


def wait_ready(service: Service, timeout: float = 180.0) -> None:
    """Poll /health/ready until it answers 200; a process that died is reported at once."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        pid = read_pid(service)
        if pid is not None and not alive(pid):
            raise RuntimeError(f"{service.name} exited during start-up; see {service.log_file}")
        try:
            response = httpx.get(f"{service.url}/health/ready", timeout=2.0)
            if response.status_code == 200:
                return
            last = response.text
        except httpx.HTTPError as error:
            last = repr(error)
        time.sleep(0.25)
    raise TimeoutError(
        f"{service.name} not ready after {timeout:.0f}s ({last}); see {service.log_file}"
    )


def read_pid(service: Service) -> int | None:
    try:
        return int(service.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # reap it if it is our child and has exited
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def stop_service(service: Service, timeout: float = 40.0) -> bool:
    """SIGTERM (graceful: in-flight batches finish), then SIGKILL after `timeout`."""
    pid = read_pid(service)
    if pid is None or not alive(pid):
        service.pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
    service.pid_file.unlink(missing_ok=True)
    return True
