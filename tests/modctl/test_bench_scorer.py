"""`modctl bench scorer` runs end to end on a tiny Detoxify-shaped checkpoint (a smoke test of
the benchmark, not a speed check: the numbers it prints are not asserted)."""

import json
from pathlib import Path

import pytest

from services.modctl.cli import main
from tests.modctl.test_train import build_data

RUNTIMES = ("onnx float32", "torch float32", "torch bfloat16")


def test_prints_every_batch_size_and_the_ratio_to_the_naive_loop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_data(tmp_path / "data", n=200)  # short texts: joined into news-length ones
    figures = tmp_path / "scorer.json"
    args = ["bench", "scorer", "--engines", "detoxify", "--shape", "tiny", "--texts", "16"]
    assert main([*args, "--data", str(tmp_path / "data"), "--json", str(figures)]) == 0
    out = capsys.readouterr().out
    for batch in (1, 8, 32):
        assert f"detoxify float32       batch {batch:>2}  16 comments" in out
    assert "Detoxify.predict loop  batch  1  16 comments" in out
    assert "ratio detoxify float32 batch 32 / Detoxify.predict loop: " in out
    for batch in (1, 8, 32):
        assert f"detoxify int8          batch {batch:>2}  16 comments" in out
    assert "ratio detoxify int8 batch 32 / Detoxify.predict loop: " in out
    assert "detoxify int8 vs float32: max |score diff|" in out
    assert "probe texts (limit 0.02): int8 ONNX in use" in out
    written = json.loads(figures.read_text(encoding="utf-8"))
    assert {r["batch"] for r in written["rates"]} == {1, 8, 32}
    assert written["naive"]["comments"] == 16
    assert written["max_score_diff"]["detoxify int8"] <= 0.02


def test_the_embedded_engine_is_measured_against_the_bare_encoder_at_news_length(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_data(tmp_path / "data", n=200)
    figures = tmp_path / "scorer.json"
    args = ["bench", "scorer", "--engines", "embedded", "--texts", "24"]
    assert main([*args, "--data", str(tmp_path / "data"), "--json", str(figures)]) == 0
    out = capsys.readouterr().out
    assert "news-length mix: 24 comments, mean " in out
    assert "encoder, passes of 32  batch 32  24 comments" in out
    assert "encoder, token budget  batch 32  24 comments" in out
    # The engine chooses its runtime by measuring: bfloat16 only where the CPU makes it pay.
    served = [line for line in out.splitlines() if line.startswith("embedded serves ")]
    assert served
    assert served[0].removeprefix("embedded serves ") in RUNTIMES
    if "bfloat16" in served[0]:
        assert "embedded probe texts: onnx float32 " in out
    assert "scorer/encoder " in out
    written = json.loads(figures.read_text(encoding="utf-8"))
    assert written["news_length"]["mean_chars"] >= 400
    assert written["short_mix"]["mean_chars"] < written["news_length"]["mean_chars"]
    assert written["scorer_vs_encoder"] == pytest.approx(
        written["scorer_cps"] / written["encoder_cps"], rel=0.01
    )
    assert written["short_scorer_cps"] > 0
    assert "avx2" in written["machine"]["cpu_flags"] or written["machine"]["cpu_flags"] == []


def test_an_unknown_engine_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_data(tmp_path / "data", n=10)
    args = ["bench", "scorer", "--engines", "gpt", "--texts", "4", "--data", str(tmp_path / "data")]
    assert main(args) == 1
    assert "unknown engine 'gpt'" in capsys.readouterr().err
