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
    GROUP_BONUSES,
    METHODS,
    NEWS_FOLDERS,
    Pair,
    Scored,
    report,
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
    assert set(written["group_bonuses"]) == {str(b) for b in GROUP_BONUSES}
    # no answer names a group: every bonus measures the same, and the smallest, none, ships
    assert written["answers_sharing_a_group_with_their_question"] == 0
    assert written["shared_group_bonus"] == 0.0
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


def _scored(own: list[float], other: list[float], shared_own: list[int]) -> Scored:
    """Every method scoring alike; answers share groups only with their own question."""
    zeros = [0] * len(own)

    def each(values: list[float]) -> dict[str, list[float]]:
        return dict.fromkeys(METHODS, values)

    shared = {"own": shared_own, "other": zeros, "digest_own": shared_own, "digest_other": zeros}
    return Scored(each(own), each(other), each(own), each(other), shared)


def test_a_bonus_ships_where_shared_groups_tell_own_from_other() -> None:
    """Half the answers are about their question's group and score only a little above
    another question: a bonus per shared group separates them, and the smallest that does
    best is chosen."""
    pairs = [Pair(0, f"answer {i}", "Good" if i % 2 else "Bad") for i in range(40)]
    own = [0.3 + 0.01 * (i % 5) for i in range(40)]
    other = [0.3 + 0.01 * ((i + 2) % 5) for i in range(40)]
    shared = [1 if i < 20 else 0 for i in range(40)]
    result = report(pairs, _scored(own, other, shared), held_share=0.05)
    bonuses = result["group_bonuses"]
    assert isinstance(bonuses, dict)
    chosen = result["shared_group_bonus"]
    assert chosen == 0.05  # 0.05 already lifts every sharing answer above every other score
    assert (
        bonuses["0.05"]["own_vs_other_question_roc_auc"]
        > bonuses["0.0"]["own_vs_other_question_roc_auc"]
    )
    assert bonuses["0.2"] == bonuses["0.05"]
    assert result["answers_sharing_a_group_with_their_question"] == 0.5
