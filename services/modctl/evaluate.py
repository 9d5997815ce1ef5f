"""ROC-AUC of a scorer on data it did not train on: the news validation split and each
held-out source, beside alt-profanity-check alone on the same texts."""

import random
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.metrics import roc_auc_score

from services.modctl.training_data import LABELS, Example, Splits, balanced
from services.moderation.scoring import LabelScores

NEWS_VALIDATION = "news_validation"
Scorer = Callable[[Sequence[str]], list[LabelScores]]


def _capped(examples: list[Example], cap: int, rng: random.Random) -> list[Example]:
    """At most `cap` examples, every positive kept up to half of them (AUC needs both)."""
    return examples if len(examples) <= cap else balanced(examples[:], cap, rng)


def evaluation_sets(splits: Splits, cap: int = 3000, seed: int = 0) -> dict[str, list[Example]]:
    """The news validation split and each held-out source, at most `cap` texts each."""
    rng = random.Random(seed)
    named = {NEWS_VALIDATION: splits.news_validation, **splits.held_out}
    return {
        name: _capped([e for e in examples if "toxicity" in e.labels], cap, rng)
        for name, examples in named.items()
    }


def auc(examples: Sequence[Example], scores: Sequence[float], label: str) -> float | None:
    """ROC-AUC for `label` over the examples that carry it (targets binarised at 0.5), or
    None when they are all of one class."""
    rows = [i for i, e in enumerate(examples) if label in e.labels]
    truth = [examples[i].labels[label] >= 0.5 for i in rows]
    if not rows or all(truth) or not any(truth):
        return None
    return round(float(roc_auc_score(truth, [scores[i] for i in rows])), 4)


def score_all(scorer: Scorer, texts: Sequence[str], batch: int = 64) -> list[LabelScores]:
    found: list[LabelScores] = []
    for start in range(0, len(texts), batch):
        found += scorer(texts[start : start + batch])
    return found


def label_aucs(examples: Sequence[Example], scores: Sequence[LabelScores]) -> dict[str, float]:
    """ROC-AUC per label the scorer outputs and the examples carry with both classes."""
    found = {}
    for label in LABELS:
        if scores and label in scores[0]:
            value = auc(examples, [s[label] for s in scores], label)
            if value is not None:
                found[label] = value
    return found


def hold_rate(scores: Sequence[float], threshold: float) -> float:
    return round(float(np.mean(np.asarray(scores) >= threshold)), 4) if scores else 0.0
