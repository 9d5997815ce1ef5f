"""`modctl train` on a few synthetic rows in the development data's layout: a head file and a
model card the embedded engine can load."""

import csv
import json
from pathlib import Path

import pytest

from services.modctl.cli import main
from services.moderation.scoring.embedded import EmbeddedEngine

RUDE = ["you stupid idiot", "shut up moron", "what a pathetic loser", "i will hurt you"]
KIND = ["thanks for the article", "good point about the budget", "i agree with the mayor"]


def _texts(words: list[str], count: int, tag: str) -> list[str]:
    return [f"{words[i % len(words)]} {tag} {i}" for i in range(count)]


def _csv(path: Path, header: list[str], rows: list[list[object]], delimiter: str = ",") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)


def build_data(root: Path, n: int = 30) -> None:
    rude, kind = _texts(RUDE, n, "r"), _texts(KIND, n, "k")
    _csv(
        root / "olid_offenseval2019" / "olid-training-v1.0.tsv",
        ["id", "tweet", "subtask_a", "subtask_b", "subtask_c"],
        [[i, f"@USER {t}", "OFF", "TIN", "IND"] for i, t in enumerate(rude)]
        + [[i, t, "NOT", "NULL", "NULL"] for i, t in enumerate(kind)],
        "\t",
    )
    _csv(
        root / "davidson_hate_offensive" / "labeled_data.csv",
        ["", "count", "hate_speech", "offensive_language", "neither", "class", "tweet"],
        [[i, 3, 0, 3, 0, i % 2, f"RT @x: {t} d"] for i, t in enumerate(rude)]
        + [[i, 3, 0, 0, 3, 2, f"{t} d"] for i, t in enumerate(kind)],
    )
    ethos = root / "ethos_hate_comments"
    _csv(
        ethos / "Ethos_Dataset_Binary.csv",
        ["comment", "isHate"],
        [[f"{t} e", 1.0] for t in rude] + [[f"{t} e", 0.0] for t in kind],
        ";",
    )
    _csv(
        ethos / "Ethos_Dataset_Multi_Label.csv",
        ["comment", "violence"],
        [[f"{t} e", int("hurt" in t)] for t in rude],
        ";",
    )
    labels = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
    jigsaw = [[f"{t} j", 1, 0, 0, int("hurt" in t), 1, i % 2] for i, t in enumerate(rude)]
    jigsaw += [[f"{t} j", 0, 0, 0, 0, 0, 0] for t in kind]
    _csv(
        root / "detoxify_jigsaw_dummy" / "train.csv",
        ["id", "comment_text", *labels],
        [[i, *row] for i, row in enumerate(jigsaw)],
    )
    _csv(root / "detoxify_jigsaw_dummy" / "test.csv", ["id", "comment_text", *labels], [])
    _csv(
        root / "jigsaw_toxic_test_sample_ibm_max" / "test_examples.csv",
        ["comment_text", *labels],
        [["never scored", -1, -1, -1, -1, -1, -1]],
    )


def test_train_writes_a_head_and_card_the_engine_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_data(tmp_path / "data")
    head = tmp_path / "out" / "head.json"
    args = ["train", "--data", str(tmp_path / "data"), "--per-source", "60"]
    args += ["--identity-directions", "4"]
    assert main([*args, "--output", str(head), "--cache", str(tmp_path / "cache")]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["quality"]["toxicity"]["cv_roc_auc"] > 0.9
    assert set(card["texts_by_source"]) == {"olid", "davidson", "ethos", "jigsaw"}
    assert "| toxicity |" in (head.parent / "MODEL_CARD.md").read_text(encoding="utf-8")
    scores = EmbeddedEngine(head).score_batch(["you stupid idiot", "thanks for the article"])
    assert scores[0]["toxicity"] > scores[1]["toxicity"]


def test_a_missing_data_folder_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--data", str(tmp_path / "none")]) == 1
    assert "not a directory" in capsys.readouterr().err
