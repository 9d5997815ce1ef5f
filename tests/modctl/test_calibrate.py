"""`modctl calibrate-relevance` on a small set in SemEval-2016 3A's layout: metrics per method,
a threshold file the policy can read, and the demo check."""

import csv
import gzip
import json
from pathlib import Path

import pytest

from services.modctl.cli import main
from services.modctl.relevance import (
    DATASET,
    FILES,
    NEWS_FOLDERS,
    threshold_for,
    write_card_section,
)
from services.moderation.scoring.relevance import shipped_floor

TOPICS = [
    ("Best bank", "Which bank has the best rates for money transfers home?", "bank transfer fees"),
    (
        "Driving licence",
        "How do I convert my driving licence at the traffic department?",
        "licence",
    ),
    ("Visa renewal", "How long does the family visa renewal take at immigration?", "visa"),
    ("Dentist", "Can anyone recommend a good dentist for a root canal?", "dentist tooth"),
    ("Car rental", "Where can I rent a cheap car for a month?", "car rental"),
    ("Schools", "Which international school has a good primary curriculum?", "school"),
    ("Gym", "Is there a gym with a swimming pool near the corniche?", "gym pool"),
    ("Internet", "Which provider has the fastest home internet and fibre?", "internet fibre"),
    ("Flights", "What is the cheapest airline for flights to Manila?", "flight airline"),
    ("Apartment", "How much is the rent for a two bedroom apartment?", "apartment rent"),
    ("Pets", "Where can I buy dog food and see a vet for my puppy?", "dog vet"),
    ("Cricket", "Where do people play cricket on Friday mornings?", "cricket match"),
]
CHATTER = ["lol", "thanks for the info", "welcome to the forum", "bump", "me too", "hahaha"]


def build_data(root: Path) -> None:
    folder = root / DATASET
    folder.mkdir(parents=True)
    rows = []
    for subject, question, words in TOPICS:
        for i in range(10):
            good = f"For the {words} question: the {words} office near you can help, try {i}."
            rows.append([subject, question, good, "Good"])
            rows.append([subject, question, f"{CHATTER[i % len(CHATTER)]} {i}", "Bad"])
    for name, part in zip(FILES, (rows[::2], rows[1::2]), strict=True):
        with (folder / name).open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["feature", "question", "answer", "labels"])
            writer.writerows(part)


def test_calibration_reports_each_method_and_writes_the_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_data(tmp_path / "data")
    output = tmp_path / "relevance.json"
    argv = ["calibrate-relevance", "--data", str(tmp_path / "data"), "--limit", "200"]
    argv += ["--output", str(output), "--cache", str(tmp_path / "cache")]
    assert main(argv) == 0
    written = json.loads(output.read_text("utf-8"))
    assert json.loads(capsys.readouterr().out) == written
    assert written["answers"] == 200
    assert written["method"] == "best_chunk"
    assert "--limit 200" in written["command"]
    for metrics in written["methods"].values():
        assert metrics["own_vs_other_question_good_only_roc_auc"] > 0.9
        assert metrics["good_vs_bad_roc_auc"] > 0.8
    floor = written["relevance_floor"]
    assert written["held_at_floor"]["good_own_question"] <= 0.05
    assert shipped_floor(output) == floor
    card = (tmp_path / "MODEL_CARD.md").read_text("utf-8")
    assert card.startswith("## Relevance\n")
    assert f"`relevance_floor` {floor}" in card
    spam = [row for row in written["demo"] if "bitcoin" in str(row["comment"])]
    assert len(spam) == 1


ARTICLES = [
    ("Council cuts the 14 bus", "The route saves money but strands riders.", "the 14 bus route"),
    ("Library opens on Sundays", "Weekend hours return after two years.", "Sunday library hours"),
    ("Muslim voters decide the mayoral race", "Turnout rose in the east.", "Muslim voters"),
    ("Christian schools lose funding", "The board voted 5 to 4.", "Christian schools"),
]


def build_news(root: Path) -> None:
    """Both published-comment folders: comments about their own article's subject."""
    for n, folder in enumerate(NEWS_FOLDERS):
        (root / folder).mkdir(parents=True)
        with gzip.open(root / folder / "train.csv.gz", "wt", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["text", "article_title", "article_snippet"])
            for title, snippet, subject in ARTICLES:
                for i in range(5):
                    text = f"What {subject} means for us is clear to me, reason {i + 5 * n}."
                    writer.writerow([text, title, snippet if n == 0 else ""])


def test_news_comments_and_the_previous_engine_are_measured_beside_the_shipped_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_data(tmp_path / "data")
    build_news(tmp_path / "data")
    output = tmp_path / "relevance.json"
    argv = ["calibrate-relevance", "--data", str(tmp_path / "data"), "--limit", "100"]
    argv += ["--output", str(output), "--cache", str(tmp_path / "cache"), "--compare-base"]
    assert main(argv) == 0
    written = json.loads(output.read_text("utf-8"))
    assert written["news"]["comments"] == 40
    assert written["news"]["articles"] == 4
    assert written["news"]["own_vs_other_article_roc_auc"] > 0.9
    base = written["base_model"]
    assert set(base["best_chunk"]) == set(written["methods"]["best_chunk"])
    assert base["news"]["own_vs_other_article_roc_auc"] > 0.9
    assert "--compare-base" in written["command"]
    card = (tmp_path / "MODEL_CARD.md").read_text("utf-8")
    assert "| previous engine |" in card
    assert "40 published New York Times comments" in card


def test_card_section_replaces_the_old_one_and_keeps_the_rest(tmp_path: Path) -> None:
    card = tmp_path / "MODEL_CARD.md"
    card.write_text("# Toxicity\n\ntable\n\n## Relevance\n\nold\n", "utf-8")
    write_card_section(card, "## Relevance\n\nnew\n")
    assert card.read_text("utf-8") == "# Toxicity\n\ntable\n\n## Relevance\n\nnew\n"


def test_threshold_holds_at_most_the_share_asked_for() -> None:
    scores = [i / 100 for i in range(100)]
    floor = threshold_for(scores, 0.05)
    assert sum(s < floor for s in scores) <= 5
    assert floor == 0.04


def test_bad_arguments_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate-relevance", "--data", str(tmp_path)]) == 1
    assert DATASET in capsys.readouterr().err
    assert main(["calibrate-relevance", "--limit", "5"]) == 1
    assert "--limit 5" in capsys.readouterr().err
