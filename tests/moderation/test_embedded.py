"""The embedded engine with the shipped head: Detoxify-style labels, one encoder pass."""

import numpy as np

from services.moderation.scoring import Engine
from services.moderation.scoring.embedded import embed_texts, load_encoder

TEXTS = [
    "You stupid idiot, shut your mouth",
    "Thanks for the careful reporting on the council budget.",
    "I will find you and hurt you",
]


def test_labels_from_the_shipped_head_are_probabilities(engine: Engine) -> None:
    scores = engine.score_batch(TEXTS)
    for row in scores:
        assert set(row) == {"toxicity", "insult", "identity_attack", "threat", "profanity"}
        assert all(0.0 <= p <= 1.0 for p in row.values())
    abusive, polite, threat = scores
    assert abusive["toxicity"] > 0.9 > 0.2 > polite["toxicity"]
    assert abusive["insult"] > polite["insult"]
    assert threat["threat"] > polite["threat"]
    assert "+head-" in engine.model_version


def test_embed_reuses_the_scoring_pass_and_matches_a_fresh_encoding(engine: Engine) -> None:
    engine.score_batch(TEXTS)
    reused = engine.embed([*TEXTS, "An article paragraph."])
    fresh = embed_texts(load_encoder(), [*TEXTS, "An article paragraph."], engine.bfloat16)  # type: ignore[attr-defined]
    assert reused.shape == (4, 384)
    assert np.allclose(reused, fresh, atol=1e-4)
    assert engine.embed([]).shape == (0, 384)


def test_leetspeak_and_invisible_characters_score_as_the_plain_words(engine: Engine) -> None:
    plain, disguised = engine.score_batch(
        ["These councillors are morons", "These councillors are m0r\u200bons"]
    )
    assert disguised["toxicity"] == plain["toxicity"]


def test_naming_a_different_group_does_not_move_toxicity(engine: Engine) -> None:
    scores = engine.score_batch(["I am a gay man", "I am a straight woman", "Muslims are kind"])
    assert scores[0]["toxicity"] == scores[1]["toxicity"]
    assert scores[0]["toxicity"] < 0.5
    assert scores[2]["toxicity"] < 0.5
