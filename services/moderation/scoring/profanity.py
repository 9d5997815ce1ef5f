"""The lexical profanity model of alt-profanity-check, evaluated directly.

The package's model is a TF-IDF vectoriser and five linear SVMs, each with a sigmoid
calibration, averaged. `profanity_check.predict_prob` runs them through scikit-learn's
validation on every call, about 16 ms whatever the batch size, which made it the largest
fixed cost of a small batch; the same arithmetic in numpy gives the same probabilities.
"""

from collections.abc import Sequence
from functools import cache

import numpy as np
from numpy.typing import NDArray


class LexicalProfanity:
    def __init__(self) -> None:
        from profanity_check import profanity_check  # loads its model files on import

        self._vectorizer = profanity_check.vectorizer
        members = profanity_check.model.calibrated_classifiers_
        self._weights = np.stack([m.estimator.coef_.ravel() for m in members], axis=1)
        self._intercepts = np.array([m.estimator.intercept_[0] for m in members])
        self._slopes = np.array([m.calibrators[0].a_ for m in members])
        self._offsets = np.array([m.calibrators[0].b_ for m in members])

    def probabilities(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """P(profane) per text: each member's calibrated probability, averaged."""
        if not texts:
            return np.zeros(0)
        margins = self._vectorizer.transform(texts) @ self._weights + self._intercepts
        calibrated = 1.0 / (1.0 + np.exp(self._slopes * margins + self._offsets))
        return np.asarray(calibrated.mean(axis=1), dtype=np.float64)


@cache
def lexical_profanity() -> LexicalProfanity:
    return LexicalProfanity()
