"""The real moderation worker process on the Detoxify engine, loaded offline from a tiny
checkpoint: verdicts carry Detoxify's labels; a bad checkpoint stops it with one clear line."""

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.contract import Topic
from services.common.settings import KafkaSettings
from services.common.topics import ensure_topics
from services.moderation.app import EXIT_BAD_MODEL
from tests.conftest import delete_topics, make_comment, unique
from tests.kafka_helpers import produce, read_until
from tests.processes import ServiceProcess, service_env
from tests.tiny_detoxify import LABELS

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


@pytest.fixture(scope="module")
def own_kafka(kafka_settings: KafkaSettings) -> Iterator[KafkaSettings]:
    """Topics and groups inside the session's namespace but apart from the session's own
    worker, so no other moderation worker shares this one's consumer group."""
    settings = KafkaSettings(
        bootstrap_servers=kafka_settings.bootstrap_servers,
        namespace=f"{kafka_settings.namespace}detoxify.",
    )
    asyncio.run(ensure_topics(settings))
    yield settings
    asyncio.run(delete_topics(settings))


def detoxify_env(
    kafka: KafkaSettings, redis_url: str, checkpoint: Path, config_dir: Path, models_dir: Path
) -> dict[str, str]:
    return {
        **service_env(kafka, redis_url),
        "MODERATION_ENGINE": "detoxify",
        "MODERATION_DETOXIFY_CHECKPOINT": str(checkpoint),
        "MODERATION_DETOXIFY_CONFIG_DIR": str(config_dir),
        "MODERATION_MODELS_DIR": str(models_dir),
    }


def test_worker_scores_with_detoxify_labels_from_a_local_checkpoint(
    own_kafka: KafkaSettings,
    redis_url: str,
    tiny_detoxify: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    checkpoint, config_dir = tiny_detoxify
    worker = ServiceProcess(
        "moderation", detoxify_env(own_kafka, redis_url, checkpoint, config_dir, tmp_path)
    )
    tenant = unique("detox")
    bodies = ["You stupid idiot, shut your mouth", "Great article about NATO.", "I agree."]
    comments = [make_comment(tenant, "article-1", body) for body in bodies]
    wanted = {c.comment_id for c in comments}
    records = [(c.comment_id.encode(), c.model_dump_json().encode()) for c in comments]

    def all_decided(values: list[bytes]) -> bool:
        return wanted <= {json.loads(v)["comment_id"] for v in values}

    worker.start()
    try:
        worker.wait_ready()
        asyncio.run(produce(own_kafka, Topic.COMMENTS_SUBMITTED, records))
        values = asyncio.run(read_until(own_kafka, Topic.COMMENTS_MODERATED, all_decided))
    finally:
        worker.stop()
    verdicts = [v for v in map(json.loads, values) if v["comment_id"] in wanted]
    assert len(verdicts) == len(comments)
    for verdict in verdicts:
        assert verdict["engine"] == "detoxify"
        assert "tiny.ckpt@sha256:" in verdict["model_version"]
        assert list(verdict["scores"]["toxicity"]) == LABELS
        assert all(0.0 <= p <= 1.0 for p in verdict["scores"]["toxicity"].values())
        assert verdict["verdict"] in {"approved", "review", "rejected"}


def test_a_missing_checkpoint_stops_the_worker_with_one_clear_line(
    own_kafka: KafkaSettings,
    redis_url: str,
    tiny_detoxify: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    missing = tmp_path / "missing.ckpt"
    worker = ServiceProcess(
        "moderation",
        detoxify_env(own_kafka, redis_url, missing, tiny_detoxify[1], tmp_path),
    )
    worker.start()
    assert worker.process is not None
    assert worker.process.wait(timeout=120) == EXIT_BAD_MODEL
    log = worker.log.read_text(encoding="utf-8")
    assert "Traceback" not in log
    errors = [json.loads(line) for line in log.splitlines() if '"level": "error"' in line]
    assert [e["msg"] for e in errors] == [
        f"moderation cannot start: Detoxify checkpoint {missing}: file not found"
    ]
