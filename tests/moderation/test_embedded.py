"""The embedded engine with the shipped fine-tuned model: six labels, one encoder pass."""

import numpy as np

from services.modctl.training_data import LABELS
from services.moderation.scoring import Engine
from services.moderation.scoring.embedded import EmbeddedEngine
from services.moderation.scoring.minilm_torch import embed_texts, load_encoder
from services.moderation.scoring.readout import joint
from services.moderation.scoring.registry import sha256_of
from services.moderation.scoring.thresholds import shipped_thresholds
from services.moderation.scoring.weights_info import WEIGHTS_FILE

TEXTS = [
    "You stupid idiot, shut your mouth",
    "Thanks for the careful reporting on the council budget.",
    "I will find you and hurt you",
]


def test_labels_from_the_shipped_model_are_probabilities(engine: Engine) -> None:
    scores = engine.score_batch(TEXTS)
    for row in scores:
        assert set(row) == set(LABELS)
        assert all(0.0 <= p <= 1.0 for p in row.values())
    abusive, polite, threat = scores
    assert abusive["toxicity"] > 0.9 > 0.2 > polite["toxicity"]
    assert abusive["insult"] > polite["insult"]
    assert threat["threat"] > polite["threat"]
    assert "+minilm-tox-" in engine.model_version


def test_every_other_label_is_read_jointly_with_toxicity() -> None:
    labels = ("insult", "toxicity", "threat")
    probs = np.array([[0.9, 0.5, 0.2], [0.9, 0.01, 0.8]])
    read = joint(labels, probs)
    # A civil comment (toxicity 0.01) scores low on every label, whatever the label's head says.
    assert np.allclose(read, [[0.45, 0.5, 0.1], [0.009, 0.01, 0.008]])
    assert joint(("insult",), probs[:, :1]).tolist() == probs[:, :1].tolist()  # no toxicity


def test_no_label_of_the_shipped_model_scores_above_its_toxicity(engine: Engine) -> None:
    for row in engine.score_batch(TEXTS):
        assert all(score <= row["toxicity"] for score in row.values())


def test_embed_reuses_the_scoring_pass_and_matches_a_fresh_encoding(engine: Engine) -> None:
    engine.score_batch(TEXTS)
    reused = engine.embed([*TEXTS, "An article paragraph."])
    fresh = embed_texts(load_encoder(), [*TEXTS, "An article paragraph."], engine.bfloat16)  # type: ignore[attr-defined]
    assert reused.shape == (4, 384)
    assert np.allclose(reused, fresh, atol=1e-4)
    assert engine.embed([]).shape == (0, 384)


def test_articles_are_read_as_written_and_comments_as_the_labels_read_them(
    engine: Engine,
) -> None:
    # A comment naming one group reads as one naming another: no score can tell them apart.
    muslim, christian = engine.embed(["Muslim voters decided it", "Christian voters decided it"])
    assert np.allclose(muslim, christian, atol=1e-4)
    # An article about one group is about that group, and the reading undoes disguises too.
    articles = engine.embed_articles(
        [
            "Muslim voters decided it",
            "Christian voters decided it",
            "Mus\u200blim voters decided it",
        ]
    )
    assert float(articles[0] @ articles[1]) < 0.95
    assert np.allclose(articles[0], articles[2], atol=1e-4)
    assert engine.embed_articles([]).shape == (0, 384)


def test_leetspeak_and_invisible_characters_score_as_the_plain_words(engine: Engine) -> None:
    plain, disguised = engine.score_batch(
        ["These councillors are morons", "These councillors are m0r\u200bons"]
    )
    assert disguised["toxicity"] == plain["toxicity"]


def test_naming_a_different_group_does_not_move_toxicity(engine: Engine) -> None:
    scores = engine.score_batch(["I am a gay man", "I am a straight woman", "Muslims are kind"])
    assert scores[0] == scores[1]
    review = shipped_thresholds()["toxicity"][0]
    assert scores[0]["toxicity"] < review
    assert scores[2]["toxicity"] < review


# The shipped weights, and what they scored when the model card was written (float32).
SHIPPED_SHA256 = "c2792cbf639f84f1d424d4b02e846f0668e335bcb2a2ebd727b7a09fc2d53dfb"
RECORDED = {
    "Only a complete 1d10t would vote for this budget. These councillors are m0rons": 0.9992,
    "Cutting the 14 and the 31 buses saves little money and strands people who have no car.": (
        0.1316
    ),
    "It\u2019s disturbing to see European allies pressured into taking on more of the burden.": (
        0.2915
    ),
}


def test_the_shipped_weights_are_the_recorded_ones_and_score_as_recorded() -> None:
    assert sha256_of(WEIGHTS_FILE) == SHIPPED_SHA256
    scores = EmbeddedEngine(precision="float32").score_batch(list(RECORDED))
    for (text, recorded), row in zip(RECORDED.items(), scores, strict=True):
        assert abs(row["toxicity"] - recorded) < 0.01, text
