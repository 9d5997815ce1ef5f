"""`modctl train --feedback`: suggested scores from feedback.suggested as labelled rows."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.common.contract import FeedbackSuggested, Topic, feedback_key
from services.common.settings import KafkaSettings
from services.modctl.cli import main
from services.modctl.feedback import feedback_examples, merge, read_feedback
from services.modctl.training_data import Example
from tests.conftest import unique
from tests.kafka_helpers import produce
from tests.modctl.test_train import build_data

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def suggestion(
    tenant: str, text: str, scores: dict[str, float], minutes: int = 0
) -> FeedbackSuggested:
    return FeedbackSuggested(
        tenant_id=tenant, text=text, scores=scores, suggested_at=NOW + timedelta(minutes=minutes)
    )


def test_suggestions_become_labels_and_the_latest_wins() -> None:
    events = [
        suggestion("t", "you absolute clown", {"TOXICITY": 0.2}, minutes=0),
        suggestion("t", "You absolute clown", {"TOXICITY": 0.9, "INSULT": 0.8}, minutes=5),
        suggestion("t", "nice photo", {"TOXICITY": 0.1, "PROFANITY": 0.0}),
        suggestion("t", "only explicit", {"SEXUALLY_EXPLICIT": 1.0}),  # no label it trains
    ]
    rows = {e.text: e for e in feedback_examples(events)}
    assert set(rows) == {"You absolute clown", "nice photo"}
    assert rows["You absolute clown"].labels == {"toxicity": 1.0, "insult": 1.0}
    assert rows["nice photo"].labels == {"toxicity": 0.0, "profanity": 0.0}
    assert all(e.source == "feedback" for e in rows.values())
    merged = merge([Example("nice photo", "olid", {"toxicity": 1})], list(rows.values()))
    assert {e.text: e.labels for e in merged}["nice photo"] == {"toxicity": 0.0, "profanity": 0.0}


@pytest.mark.kafka
async def test_train_with_feedback_reads_the_tenants_suggestions(
    kafka_settings: KafkaSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tenant, other = unique("site"), unique("site")
    rude = [f"you worthless fool number {i}" for i in range(6)]
    kind = [f"thank you for the report number {i}" for i in range(6)]
    events = [suggestion(tenant, t, {"TOXICITY": 0.95}) for t in rude]
    events += [suggestion(tenant, t, {"TOXICITY": 0.05}) for t in kind]
    events.append(suggestion(other, "another site's text", {"TOXICITY": 1.0}))
    records = [(feedback_key(e), e.model_dump_json().encode()) for e in events]
    await produce(kafka_settings, Topic.FEEDBACK_SUGGESTED, records)

    found = await read_feedback(kafka_settings, tenant)
    assert sorted(e.text for e in found) == sorted(rude + kind)

    build_data(tmp_path / "data")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_settings.bootstrap_servers)
    monkeypatch.setenv("KAFKA_NAMESPACE", kafka_settings.namespace)
    args = ["train", "--data", str(tmp_path / "data"), "--feedback"]
    args += ["--feedback-tenant", tenant, "--output", str(tmp_path / "model.safetensors")]
    assert await asyncio.to_thread(main, args) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["texts_by_source"]["feedback"] == 12
    assert "--feedback-tenant" in card["command"]
