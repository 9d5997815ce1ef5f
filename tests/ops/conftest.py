"""A real Prometheus server (Debian's package) scraping the session's services."""

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.ops.promql import RULES
from tests.processes import System, free_port, wait_until_ok


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector (or scalar) `expr` evaluates to; raises on a query error."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10.0)
        body = response.json()
        if body.get("status") != "success":
            raise ValueError(f"{body.get('errorType')}: {body.get('error')}")
        data = body["data"]
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        return list(data["result"])

    def rule_health(self) -> dict[str, str]:
        """Each loaded rule's name: its health ("ok", "unknown" before the first evaluation)."""
        groups = httpx.get(f"{self.url}/api/v1/rules", timeout=10.0).json()["data"]["groups"]
        return {
            rule["name"]: rule["health"]
            + (f": {rule['lastError']}" if rule.get("lastError") else "")
            for group in groups
            for rule in group["rules"]
        }


def scrape_config(system: System, rules: Path) -> dict[str, Any]:
    """The compose file's config with this session's targets, and scrapes every second."""
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {
                "job_name": service.name,
                "static_configs": [{"targets": [f"127.0.0.1:{service.port}"]}],
            }
            for service in system.all()
        ],
    }


@pytest.fixture(scope="session")
def prometheus(system: System, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail(
            "prometheus is not installed (`make test` installs it: deploy/prometheus/install.sh)"
        )
    home = tmp_path_factory.mktemp("prometheus")
    config = home / "prometheus.yml"
    config.write_text(yaml.safe_dump(scrape_config(system, RULES)))
    port = free_port()
    log = home / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ok(
            f"{url}/-/ready", lambda: process.poll() is None, "prometheus", log, timeout=60
        )
        yield Prometheus(url)
    finally:
        process.terminate()
        process.wait(timeout=30)
