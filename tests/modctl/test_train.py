"""`modctl train` on a few synthetic rows in the development data's layout: fine-tuned weights,
thresholds and a model card that the embedded engine loads."""

import csv
import gzip
import json
from pathlib import Path

import pytest

from services.modctl.cli import main
from services.modctl.training_data import load_splits
from services.moderation.scoring.embedded import EmbeddedEngine

RUDE = ["you stupid idiot", "shut up moron", "what a pathetic loser", "i will hurt you"]
KIND = ["thanks for the article", "good point about the budget", "i agree with the mayor"]


def _texts(words: list[str], count: int, tag: str) -> list[str]:
    return [f"{words[i % len(words)]} {tag} {i}" for i in range(count)]


def _csv(path: Path, header: list[str], rows: list[list[object]], delimiter: str = ",") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)


def _binary(root: Path, folder: str, header: list[str], rude: object, kind: object, n: int) -> None:
    """`folder`/train.csv.gz with a text column and one label column."""
    rows = [[t, rude] for t in _texts(RUDE, n, folder)] + [
        [t, kind] for t in _texts(KIND, n, folder)
    ]
    _csv(root / folder / "train.csv.gz", header, rows)


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
    _csv(
        root / "ethos_hate_comments" / "Ethos_Dataset_Binary.csv",
        ["comment", "isHate"],
        [[f"{t} e", 1.0] for t in rude] + [[f"{t} e", 0.0] for t in kind],
        ";",
    )
    six = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
    jigsaw = [[t, 1, 0, 0, int("hurt" in t), 1, i % 2] for i, t in enumerate(_texts(RUDE, n, "j"))]
    jigsaw += [[t, 0, 0, 0, 0, 0, 0] for t in _texts(KIND, n, "j")]
    _csv(root / "jigsaw_toxic_wiki_samples" / "train.csv.gz", ["text", *six], jigsaw)
    dummy = root / "detoxify_jigsaw_dummy"
    _csv(
        dummy / "train.csv",
        ["id", "comment_text", *six],
        [[i, f"{r[0]} x", *r[1:]] for i, r in enumerate(jigsaw)],
    )
    _csv(dummy / "test.csv", ["id", "comment_text", *six], [])
    _csv(
        root / "jigsaw_toxic_test_sample_ibm_max" / "test_examples.csv",
        ["comment_text", *six],
        [["never scored", -1, -1, -1, -1, -1, -1]],
    )
    _binary(root, "civil_comments_float", ["text", "toxicity"], 0.9, 0.0, n)
    _binary(root, "wiki_talk_cat_large", ["text", "toxic"], 1.0, 0.0, n)
    _binary(root, "stormfront_hate_forum", ["text", "hate"], 1.0, 0.0, n)
    _binary(root, "civil_comments_sociosim", ["text", "label_binary"], 1, 0, n)
    subtypes = ["severe_toxicity", "obscene", "threat", "insult", "identity_attack"]
    _csv(
        root / "civil_comments_autolabel" / "train.csv.gz",
        ["text", "toxicity", "label_binary", *subtypes],
        [[t, 0.8, 1, 0.1, 0.2, 0.0, 0.7, 0.0] for t in _texts(RUDE, n, "a")]
        + [[t, "", 0, "", "", "", "", ""] for t in _texts(KIND, n, "a")],
    )
    spans = ["insult_span_frac", "threat_span_frac", "identity_attack_span_frac"]
    _csv(
        root / "civil_comments_toxicspans" / "train.csv.gz",
        ["text", *spans, "obscene_span_frac", "not_toxic_frac"],
        [[t, 0.6, 0.0, 0.0, 0.0, 0.2] for t in _texts(RUDE, n, "s")],
    )
    for folder in ("nyt_comments_kaggle_samples", "nyt_comments_2025_api"):
        _csv(root / folder / "train.csv.gz", ["text"], [[t] for t in _texts(KIND, n, folder)])


def test_train_writes_weights_thresholds_and_card_the_engine_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_data(tmp_path / "data")
    weights = tmp_path / "out" / "model.safetensors"
    args = ["train", "--data", str(tmp_path / "data"), "--epochs", "3", "--output", str(weights)]
    assert main(args) == 0
    card = json.loads(capsys.readouterr().out)
    assert set(card["texts_by_source"]) == {
        "civil_float", "civil_autolabel", "civil_toxicspans", "jigsaw_wiki", "olid", "davidson"
    }  # fmt: skip
    held = {
        "news_validation",
        "civil_sociosim",
        "ethos",
        "stormfront",
        "wiki_talk",
        "jigsaw_kaggle",
    }
    assert set(card["quality"]) == held
    assert card["quality"]["ethos"]["engine"] > 0.9  # a source it never saw
    band = json.loads((weights.with_name("thresholds.json")).read_text())["thresholds"]["toxicity"]
    assert 0.0 < band["review"] <= band["reject"] <= 1.0
    written = weights.with_name("MODEL_CARD.md").read_text(encoding="utf-8")
    assert "| ethos |" in written
    # a held-out set from a training source's collection is not called new to the model
    assert "`jigsaw_kaggle` samples the same collection as `jigsaw_wiki`" in written
    engine = EmbeddedEngine(precision="float32", weights=weights)
    rude, kind = engine.score_batch(["you stupid idiot", "thanks for the article"])
    assert rude["toxicity"] > kind["toxicity"]
    assert f"+{card['version']}+" in engine.model_version


def test_a_missing_data_folder_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--data", str(tmp_path / "none")]) == 1
    assert "not a directory" in capsys.readouterr().err


def test_a_left_out_source_is_held_out_whole_and_never_trained_on(tmp_path: Path) -> None:
    build_data(tmp_path / "data")
    splits = load_splits(tmp_path / "data", leave_out="olid")
    assert "olid" not in {e.source for e in splits.training}
    assert {e.source for e in splits.held_out["olid"]} == {"olid"}
    assert len(splits.held_out["olid"]) == 60
    trained = {e.text.lower() for e in splits.training}
    assert not trained & {e.text.lower() for e in splits.held_out["olid"]}
    with pytest.raises(ValueError, match="not a training source"):
        load_splits(tmp_path / "data", leave_out="ethos")


def test_leaving_a_source_out_needs_an_output_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_data(tmp_path / "data")
    args = ["train", "--data", str(tmp_path / "data"), "--leave-out", "olid"]
    assert main(args) == 1
    assert "--leave-out: give --output" in capsys.readouterr().err
