"""deploy/k8s: every built-in object against the Kubernetes schema, and the rules between them.

kubernetes-validate bundles the Kubernetes JSON schemas, so nothing is fetched at test time.
KEDA's ScaledObject is a custom resource it has no schema for: that one is checked field by
field below (the fields KEDA's Kafka scaler reads).
"""

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from services.common.contract import TOPIC_LAYOUT, ConsumerGroup, Topic
from services.moderation.policy import Policy
from services.moderation.settings import ModerationSettings

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
KUBERNETES_VERSION = "1.29.0"  # the oldest release still widely run; newer ones accept it too
SERVICES = {
    "ingest": 8000,
    "moderation": 8001,
    "publisher": 8002,
    "perspective": 8003,
    "webhooks": 8004,
}


def documents() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    found = []
    for name in kustomization["resources"]:
        found += [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    return found


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents() if d["kind"] == kind}


def test_kustomization_lists_every_manifest() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


@pytest.mark.parametrize(
    "document",
    [d for d in documents() if d["apiVersion"] != "keda.sh/v1alpha1"],
    ids=lambda d: f"{d['kind']}/{d['metadata']['name']}",
)
def test_object_matches_the_kubernetes_schema(document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_a_schema_error_is_caught() -> None:
    """The check above is worth something: a misplaced field fails it."""
    deployment = by_kind("Deployment")["ingest"]
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_each_service_has_probes_resources_a_service_and_a_budget() -> None:
    deployments, services, budgets = (
        by_kind("Deployment"),
        by_kind("Service"),
        by_kind("PodDisruptionBudget"),
    )
    assert set(deployments) == set(SERVICES)
    for name, port in SERVICES.items():
        pod = deployments[name]["spec"]["template"]
        labels = pod["metadata"]["labels"]
        container = pod["spec"]["containers"][0]
        assert container["command"][-1] == f"services.{name}"
        assert container["ports"][0]["containerPort"] == port
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        assert services[name]["spec"]["selector"].items() <= labels.items()
        assert budgets[name]["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_worker_scales_on_lag_up_to_the_partition_count() -> None:
    scaled = by_kind("ScaledObject")["moderation"]
    spec = scaled["spec"]
    assert spec["scaleTargetRef"]["name"] in by_kind("Deployment")
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    config = by_kind("ConfigMap")["comment-moderation"]["data"]
    consumers = spec["maxReplicaCount"] * int(config["MODERATION_CONSUMERS"])
    assert consumers <= TOPIC_LAYOUT[Topic.COMMENTS_SUBMITTED].partitions
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "kafka"
    metadata = trigger["metadata"]
    assert metadata["topic"] == Topic.COMMENTS_SUBMITTED
    assert metadata["consumerGroup"] == ConsumerGroup.MODERATION
    assert metadata["allowIdleConsumers"] == "false"
    assert int(metadata["lagThreshold"]) > 0
    assert metadata["bootstrapServers"] == config["KAFKA_BOOTSTRAP_SERVERS"]
    assert "replicas" not in by_kind("Deployment")["moderation"]["spec"]  # KEDA sets it


def test_configmap_policy_is_read_by_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in by_kind("ConfigMap")["comment-moderation"]["data"].items():
        monkeypatch.setenv(key, value)
    settings = ModerationSettings(_env_file=None)
    assert settings.policy == Policy()  # the shipped defaults, spelt out for operators to edit
    assert settings.kafka.bootstrap_servers.endswith(":9092")
