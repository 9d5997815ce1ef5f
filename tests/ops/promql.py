"""Every PromQL expression the project ships: the Grafana dashboards' and the alert rules'."""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "rules.yml"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))

# Grafana fills these in per panel; any window that covers a few scrapes behaves the same.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
# `<query> > 0.01` at the very end of an alert: the threshold the query is compared with.
_THRESHOLD = re.compile(r"\s*(?:==|!=|>=|<=|>|<)\s*(?:bool\s+)?[-+]?[0-9.]+(?:e[-+]?[0-9]+)?\s*$")


def without_threshold(expr: str) -> str:
    """The query an alert compares with its threshold.

    An alert's expression returns data only while it fires, so "returns data" is proved on the
    query without its final comparison: it shows that every metric it reads exists and that the
    query computes a value; rules.test.yml proves separately that the comparison fires.
    """
    query, count = _THRESHOLD.subn("", expr.strip())
    if count != 1:
        raise ValueError(f"an alert must end in one comparison with a number: {expr!r}")
    return query


def grafana_to_promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    if "$" in expr:
        raise ValueError(f"a Grafana variable without a stand-in: {expr!r}")
    return expr


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # collapsed rows hold their panels


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, PromQL) for each target of each panel of each dashboard."""
    found = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        for panel in _panels(dashboard["panels"]):
            for target in panel.get("targets", []):
                where = f"{path.name}: {panel['title']} [{target['refId']}]"
                found.append((where, grafana_to_promql(target["expr"])))
    return found


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def rule_queries() -> list[tuple[str, str]]:
    """(where, PromQL): a recording rule's expression, an alert's query without its threshold."""
    return [
        (
            f"rules.yml: {rule.get('alert') or rule['record']}",
            without_threshold(rule["expr"]) if "alert" in rule else rule["expr"],
        )
        for rule in rules()
    ]
