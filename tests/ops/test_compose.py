"""docker-compose.yml and the Dockerfile, checked without a Docker daemon.

Debian's docker-compose 1.29 validates the file against the Compose schema (unknown options
are errors) and resolves it, anchors and all, without talking to a daemon.
"""

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
LONG_RUNNING = [
    "kafka",
    "redis",
    "ingest",
    "moderation",
    "publisher",
    "perspective",
    "webhooks",
    "prometheus",
    "grafana",
]


def compose(*args: str, file: Path = COMPOSE) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed (`make test` installs it)")
    return subprocess.run(
        [binary, "-f", str(file), *args], capture_output=True, text=True, check=False, cwd=ROOT
    )


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    result = compose("config")
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def test_compose_file_is_valid() -> None:
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_an_unknown_option_is_refused(tmp_path: Path) -> None:
    """The check above is worth something: a misspelt key fails it."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("healthcheck:", "healthchek:", 1))
    assert compose("config", "-q", file=broken).returncode != 0


def test_long_running_services_restart_and_report_health(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    for name in LONG_RUNNING:
        assert services[name]["restart"] == "unless-stopped", name
        assert services[name]["healthcheck"]["test"], name


def test_services_wait_for_topics_and_redis(resolved: dict[str, Any]) -> None:
    for name in ("ingest", "moderation", "publisher", "perspective", "webhooks"):
        depends = resolved["services"][name]["depends_on"]
        assert depends["topics"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"


def test_redis_keeps_an_append_only_file(resolved: dict[str, Any]) -> None:
    assert "--appendonly" in resolved["services"]["redis"]["command"]


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path: host path (relative to the repository) of each bind mount."""
    found = {}
    for volume in service["volumes"]:  # docker-compose 1.29 resolves them to "source:target:mode"
        source, target, *_ = volume.split(":")
        if source.startswith("/"):
            found[target] = str(Path(source).relative_to(ROOT))
    return found


def test_prometheus_gets_its_config_and_rules(resolved: dict[str, Any]) -> None:
    found = mounts(resolved["services"]["prometheus"])
    assert found["/etc/prometheus/prometheus.yml"] == "deploy/prometheus/prometheus.yml"
    assert found["/etc/prometheus/rules.yml"] == "deploy/prometheus/rules.yml"
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    assert "/etc/prometheus/rules.yml" in config["rule_files"]
    jobs = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    assert jobs == {
        "ingest": ["ingest:8000"],
        "moderation": ["moderation:8001"],
        "publisher": ["publisher:8002"],
        "perspective": ["perspective:8003"],
        "webhooks": ["webhooks:8004"],
    }


def test_grafana_is_provisioned_with_the_dashboards(resolved: dict[str, Any]) -> None:
    found = mounts(resolved["services"]["grafana"])
    assert found["/etc/grafana/provisioning"] == "deploy/grafana/provisioning"
    provider = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/dashboards/comment-moderation.yml").read_text()
    )
    dashboards = provider["providers"][0]["options"]["path"]
    assert found[dashboards] == "deploy/grafana/dashboards"
    datasource = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"
    for path in (ROOT / "deploy/grafana/dashboards").glob("*.json"):
        text = path.read_text()
        assert '"uid": "prometheus"' in text, f"{path.name} must use the provisioned datasource"


def test_dockerfile_is_multi_stage_slim_and_not_root() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "deploy/docker/Dockerfile").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) >= 2
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in lines
    final = lines[lines.index(stages[-1]) :]
    assert any(line.startswith("COPY --from=build") for line in final)
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users, "the final stage must switch to a user"
    assert users[-1].split(":")[0] not in {"0", "root"}
    # The exported ONNX graph ships in the image, in a models directory its user may write.
    assert any("MODERATION_MODELS_DIR=/opt/models" in line for line in final)
    models = [line for line in final if line.startswith("COPY") and "/opt/models" in line]
    assert models, "the final stage must copy the models directory"
    assert f"--chown={users[-1]}" in models[0].split()
