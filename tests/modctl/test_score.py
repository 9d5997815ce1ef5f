"""`modctl score`: JSONL in, JSONL out, with the worker's engine and policy."""

import io
import json
from pathlib import Path

import pytest

from services.modctl.cli import main
from services.modctl.score import score_stream
from services.moderation.policy import Policy
from services.moderation.scoring import Engine
from tests.tiny_detoxify import LABELS

ARTICLE = "NATO allies debate defence spending.\nUkraine asks for membership."


def test_each_line_gets_scores_relevance_verdict_and_reasons(engine: Engine) -> None:
    lines = [
        {"id": "spam", "text": "Check out my channel for free bitcoin", "article_text": ARTICLE},
        {"id": "abuse", "text": "You stupid idiot, shut your mouth"},
        {
            "id": "fine",
            "text": "Europe should pay more for its own defence.",
            "article_text": ARTICLE,
        },
    ]
    source = io.StringIO("".join(json.dumps(line) + "\n" for line in lines))
    sink = io.StringIO()
    assert score_stream(engine, Policy(), source, sink, batch=2) == 3
    out = {r["id"]: r for r in map(json.loads, sink.getvalue().splitlines())}
    assert set(out) == {"spam", "abuse", "fine"}
    assert out["spam"]["verdict"] == "review"
    assert out["spam"]["reasons"][0]["code"] == "off_topic"
    assert out["abuse"]["relevance"] is None
    assert out["abuse"]["verdict"] == "rejected"
    assert out["fine"]["verdict"] == "approved"
    assert out["fine"]["relevance"] > 0.2
    assert 0.0 <= out["fine"]["toxicity"]["toxicity"] <= 1.0


def test_a_bad_line_is_reported_with_its_number(engine: Engine) -> None:
    source = io.StringIO('{"id": "1", "text": "ok"}\n{"id": "2"}\n')
    with pytest.raises(ValueError, match="line 2: text"):
        score_stream(engine, Policy(), source, io.StringIO(), batch=10)


def test_engine_option_picks_detoxify_over_the_setting(
    tiny_detoxify: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint, config_dir = tiny_detoxify
    monkeypatch.setenv("MODERATION_ENGINE", "embedded")
    monkeypatch.setenv("MODERATION_DETOXIFY_CHECKPOINT", str(checkpoint))
    monkeypatch.setenv("MODERATION_DETOXIFY_CONFIG_DIR", str(config_dir))
    source, sink = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    line = {"id": "1", "text": "You idiot", "article_text": ARTICLE}
    source.write_text(json.dumps(line) + "\n", encoding="utf-8")
    args = ["score", "--engine", "detoxify", "--input", str(source), "--output", str(sink)]
    assert main(args) == 0
    (result,) = map(json.loads, sink.read_text(encoding="utf-8").splitlines())
    assert list(result["toxicity"]) == LABELS
    assert result["relevance"] is not None


def test_a_reply_is_read_with_its_parent_text(engine: Engine) -> None:
    parent = "NATO members should raise defence spending rather than leave it to the U.S."
    lines = [
        {
            "id": "reply",
            "text": "Agreed, well said.",
            "article_text": ARTICLE,
            "parent_text": parent,
        },
        {"id": "alone", "text": "Agreed, well said.", "article_text": ARTICLE},
    ]
    source = io.StringIO("".join(json.dumps(line) + "\n" for line in lines))
    sink = io.StringIO()
    score_stream(engine, Policy(), source, sink, batch=10)
    out = {r["id"]: r for r in map(json.loads, sink.getvalue().splitlines())}
    assert out["reply"]["verdict"] == "approved"
    assert out["alone"]["verdict"] == "review"
    assert out["reply"]["relevance"] > out["alone"]["relevance"]
