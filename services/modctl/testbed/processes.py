"""The services as processes on free ports, for the test suite and `modctl soak`."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.common.settings import KafkaSettings, RedisSettings
from services.common.tenants import ALL_SCOPES, Scope, TenantStore
from services.modctl.processes import ROOT as ROOT
from services.modctl.processes import port_open


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


@dataclass
class ServiceProcess:
    name: str
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    log_dir: Path = ROOT / ".data" / "test-logs"
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.log_dir / f"{self.name}-{self.port}.log"

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, f"{self.name.upper()}_PORT": str(self.port)}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.name}"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 120.0) -> None:
        assert self.process is not None
        wait_until_ok(f"{self.url}/health/ready", self.process, self.name, self.log, timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 40.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class System:
    ingest: ServiceProcess
    moderation: ServiceProcess
    publisher: ServiceProcess
    kafka: KafkaSettings
    redis_url: str
    _keys: dict[str, str] = field(default_factory=dict)

    def all(self) -> list[ServiceProcess]:
        return [self.ingest, self.moderation, self.publisher]

    def key(self, tenant: str) -> str:
        """A key of `tenant` with every scope (the tenant created if new), one per tenant."""
        if tenant not in self._keys:
            self._keys[tenant] = mint_key(self.redis_url, tenant)
        return self._keys[tenant]

    def headers(self, tenant: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key(tenant)}"}


def mint_key(
    redis: str | RedisSettings,
    tenant: str,
    scopes: frozenset[Scope] = ALL_SCOPES,
    *,
    private_feeds: bool = False,
    requests_per_minute: int | None = None,
) -> str:
    """A new key of `tenant` in that Redis (a URL or full settings with credentials), creating
    the tenant if it is new."""
    settings = RedisSettings(url=redis) if isinstance(redis, str) else redis

    async def create() -> str:
        async with settings.client() as client:
            store = TenantStore(client)
            await store.create_tenant(tenant, private_feeds=private_feeds, exist_ok=True)
            key, _ = await store.create_key(tenant, scopes, requests_per_minute=requests_per_minute)
            return key

    # On a thread of its own: callers may be inside a running loop (Playwright, async tests).
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, create()).result()


def service_env(kafka: KafkaSettings, redis_url: str) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "KAFKA_NAMESPACE": kafka.namespace,
        "REDIS_URL": redis_url,
        **OFFLINE,
    }


@contextmanager
def running_system(
    kafka: KafkaSettings,
    redis_url: str,
    log_dir: Path = ROOT / ".data" / "test-logs",
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[System]:
    """Ingest, moderation and publisher, ready; all stopped on exit."""
    env = {**service_env(kafka, redis_url), **(extra_env or {})}
    system = System(
        ServiceProcess("ingest", env, log_dir=log_dir),
        ServiceProcess("moderation", env, log_dir=log_dir),
        ServiceProcess("publisher", env, log_dir=log_dir),
        kafka,
        redis_url,
    )
    try:
        for service in system.all():
            service.start()
        for service in system.all():
            service.wait_ready()
        yield system
    finally:
        for service in system.all():
            service.stop()


def wait_until_ok(
    url: str, process: subprocess.Popen[bytes], name: str, log: Path, timeout: float
) -> None:
    """Poll `url` until it answers 200; a process that exited fails the test at once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}; see {log}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{name} not ready within {timeout}s; see {log}")


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return True
        time.sleep(0.05)
    return False
