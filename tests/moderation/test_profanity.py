"""The lexical profanity model evaluated in numpy gives alt-profanity-check's own numbers."""

import numpy as np
from profanity_check import predict_prob

from services.moderation.scoring.profanity import lexical_profanity

TEXTS = [
    "what the fuck is this shit",
    "Thanks for the careful reporting on the council budget.",
    "",
    "you absolute moron",
    "The vote is next month. " * 40,
]


def test_same_probabilities_as_the_package() -> None:
    ours = lexical_profanity().probabilities(TEXTS)
    assert ours.shape == (len(TEXTS),)
    assert np.allclose(ours, predict_prob(TEXTS), atol=1e-12)
    assert ours[0] > 0.9 > 0.1 > ours[1]


def test_no_texts_no_scores() -> None:
    assert lexical_profanity().probabilities([]).shape == (0,)
