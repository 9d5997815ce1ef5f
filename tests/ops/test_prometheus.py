"""Alert rules and dashboards against a real Prometheus scraping the running services.

A renamed metric, a wrong label or a PromQL typo breaks here, not at 3 a.m.
"""

import math
import subprocess
import time
from pathlib import Path

import pytest

from tests.ops.conftest import Prometheus
from tests.ops.promql import DEPLOY, RULES, dashboard_queries, rule_queries, rules
from tests.ops.traffic import send_traffic
from tests.processes import System

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, check=False)


def test_rules_pass_promtool_check() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_each_alert_fires_past_its_threshold_and_not_below() -> None:
    result = promtool("test", "rules", str(DEPLOY / "prometheus" / "rules.test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    tested = (DEPLOY / "prometheus" / "rules.test.yml").read_text()
    for rule in rules():
        assert f"alertname: {rule['alert']}" in tested, f"no promtool test for {rule['alert']}"


def test_compose_prometheus_config_is_valid(tmp_path: Path) -> None:
    # The compose file mounts rules.yml at /etc/prometheus/; check it from here instead.
    config = (DEPLOY / "prometheus" / "prometheus.yml").read_text()
    local = tmp_path / "prometheus.yml"
    local.write_text(config.replace("/etc/prometheus/rules.yml", str(RULES)))
    result = promtool("check", "config", str(local))
    assert result.returncode == 0, result.stdout + result.stderr


def unanswered(prometheus: Prometheus, queries: list[tuple[str, str]]) -> dict[str, str]:
    """Each query that returns no sample with a number yet, and what it returned instead."""
    missing = {}
    for where, expr in queries:
        try:
            samples = prometheus.query(expr)
        except ValueError as error:
            missing[where] = f"query error {error}: {expr}"
            continue
        if not any(not math.isnan(float(s["value"][1])) for s in samples):
            missing[where] = f"{len(samples)} samples, none a number: {expr}"
    return missing


def test_every_dashboard_and_alert_query_returns_data(
    system: System, prometheus: Prometheus
) -> None:
    wait_for_scrapes(prometheus, len(system.all()))
    send_traffic(system)
    queries = rule_queries() + dashboard_queries()
    deadline = time.monotonic() + 120
    missing = unanswered(prometheus, queries)
    while missing and time.monotonic() < deadline:
        time.sleep(1)  # Prometheus scrapes every second
        missing = unanswered(prometheus, queries)
    assert not missing, "\n".join(f"{where}: {why}" for where, why in missing.items())


def test_every_rule_is_loaded_and_evaluates_cleanly(prometheus: Prometheus) -> None:
    expected = {rule["alert"] for rule in rules()}
    deadline = time.monotonic() + 60
    health = prometheus.rule_health()
    while time.monotonic() < deadline and (
        set(health) != expected or any(h != "ok" for h in health.values())
    ):
        time.sleep(0.5)
        health = prometheus.rule_health()
    assert set(health) == expected
    assert all(h == "ok" for h in health.values()), health


def wait_for_scrapes(prometheus: Prometheus, targets: int, timeout: float = 60.0) -> None:
    """Until every service has been scraped once: counters then have a baseline to rise from."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(prometheus.query("up == 1")) >= targets:
            return
        time.sleep(0.5)
    pytest.fail(f"prometheus did not scrape {targets} services within {timeout}s")
