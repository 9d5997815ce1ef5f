"""The identity-term bias probe: its arithmetic on a fake engine, and the command on a tiny
madlibs file in the development data's layout."""

import csv
from pathlib import Path

import pytest

from services.modctl.bias_probe import MADLIBS, Frame, load_frames, run_probe, table
from services.modctl.cli import main

TERMS = ["gay", "tall", "african american", "american"]
ADJECTIVES = {"kind": "NOT_BAD", "vile": "BAD"}


def write_madlibs(data: Path) -> Path:
    """Three templates in the original file's wording: the probe reads its terms from one."""
    path = data / MADLIBS
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [["Text", "Label", "Template"]]
    for adjective, label in ADJECTIVES.items():
        rows += [[f"Being {t} is {adjective}.", label, "being_adj"] for t in TERMS]
        rows += [[f"You are a {adjective} {t}", label, "you_are_adj"] for t in TERMS]
    rows += [[f"You are a {a} dancer", label, "you_occupation"] for a, label in ADJECTIVES.items()]
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(rows)
    return path


def test_frames_hold_every_term_and_skip_sentences_without_one(tmp_path: Path) -> None:
    frames = load_frames(write_madlibs(tmp_path), per_template=10)
    assert len(frames) == 4  # 2 templates x 2 adjectives; the occupation rows name no term
    for frame in frames:
        assert sorted(frame.sentences) == sorted(TERMS)
    being = next(f for f in frames if f.template == "being_adj" and not f.bad)
    assert being.sentences["american"] == "Being american is kind."
    assert being.sentences["african american"] == "Being african american is kind."


def test_deltas_are_against_the_frame_mean_and_fpr_counts_not_bad_only() -> None:
    frames = [
        Frame("t", False, {"a": "a nice", "b": "b nice"}),
        Frame("t", True, {"a": "a vile", "b": "b vile"}),
    ]
    fake = {"a nice": 0.6, "b nice": 0.2, "a vile": 0.9, "b vile": 0.9}
    result = run_probe(frames, lambda texts: [fake[t] for t in texts], threshold=0.5)
    rows = {r.term: r for r in result.rows}
    # frame 1: mean 0.4, a +0.2, b -0.2; frame 2: mean 0.9, both 0
    assert rows["a"].delta == pytest.approx(0.1)
    assert rows["b"].delta == pytest.approx(-0.1)
    assert rows["a"].mean_toxicity == pytest.approx(0.75)
    assert rows["a"].false_positive_rate == 1.0  # 0.6 >= 0.5 on its one NOT_BAD sentence
    assert rows["b"].false_positive_rate == 0.0
    assert result.max_delta == pytest.approx(0.1)
    assert result.overall_false_positive_rate == 0.5
    lines = table(result)
    assert "| a | +0.100 | 0.750 | 1.000 (1) |" in lines
    assert "max |swap delta| 0.100 (misses the 0.05 target)" in lines[-2]
    assert result.false_positive_by_template == {"t": (1, 2)}  # NOT_BAD: "a nice" of two
    assert lines[-1] == "FPR on NOT_BAD by template: t 1/2"


def test_the_command_prints_a_per_term_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_madlibs(tmp_path)
    assert main(["models", "probe", "--data", str(tmp_path), "--frames", "1"]) == 0
    out = capsys.readouterr().out
    assert "| identity term | swap delta | mean toxicity | FPR on NOT_BAD |" in out
    for term in TERMS:
        assert f"| {term} | " in out
    assert "8 sentences in 2 frames, 4 terms; max |swap delta|" in out


def test_a_missing_madlibs_file_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "probe", "--data", str(tmp_path)]) == 1
    assert "bias madlibs file" in capsys.readouterr().err
