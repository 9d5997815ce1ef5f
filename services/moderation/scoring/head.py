"""The embedded engine's trained toxicity head: one calibrated linear model per label on the
MiniLM embedding plus the lexical profanity score. Plain numbers in JSON, no pickle."""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from services.moderation.scoring import Vectors
from services.moderation.scoring.identity import neutralise_changed

HEAD_FILE = Path(__file__).parent / "models" / "toxicity-head.json"


@dataclass(frozen=True)
class LabelHead:
    weights: NDArray[np.float64]  # over the features; standardisation folded in
    bias: float
    slope: float  # Platt scaling fitted on out-of-fold scores
    intercept: float


@dataclass(frozen=True)
class ToxicityHead:
    version: str
    labels: dict[str, LabelHead]
    # Labels read from the text with identity terms made neutral (identity.py): what is said,
    # not which group is named. identity_attack is left out: naming a group is its subject.
    neutral_labels: frozenset[str] = frozenset()

    def predict(
        self, features: NDArray[np.float64], neutral: NDArray[np.float64] | None = None
    ) -> dict[str, NDArray[np.float64]]:
        """`neutral`: the features of the neutralised texts, for `neutral_labels`."""
        out = {}
        for label, head in self.labels.items():
            x = neutral if neutral is not None and label in self.neutral_labels else features
            margin = x @ head.weights + head.bias
            out[label] = 1.0 / (1.0 + np.exp(-(head.slope * margin + head.intercept)))
        return out


def features(embeddings: Vectors, profanity: NDArray[np.float64]) -> NDArray[np.float64]:
    """The embedding and the log-odds of the lexical profanity model, side by side."""
    clipped = np.clip(profanity, 1e-4, 1 - 1e-4)
    logit = np.log(clipped / (1 - clipped))
    return np.hstack([embeddings.astype(np.float64), logit[:, None]])


@dataclass(frozen=True)
class TextFeatures:
    embeddings: Vectors  # of the texts as written
    profanity: NDArray[np.float64]  # lexical P(profane) of the texts as written
    written: NDArray[np.float64]  # the head's input for the texts as written
    neutral: NDArray[np.float64]  # ... with identity terms made neutral (identity.py)


def text_features(
    texts: Sequence[str],
    embed: Callable[[Sequence[str]], Vectors],
    profanity: Callable[[Sequence[str]], NDArray[np.float64]],
    neutralise: bool = True,
) -> TextFeatures:
    """The texts' features as written and with identity terms made neutral. The texts that
    name a term are neutralised and go through the encoder and the lexical model in the same
    calls as the originals: fuller encoder passes, one fixed cost."""
    changed, neutral = neutralise_changed(texts) if neutralise else ([], [])
    every = [*texts, *neutral]
    vectors, lexical = embed(every), profanity(every)
    n = len(texts)
    written = features(vectors[:n], lexical[:n])
    rows = written.copy()
    if changed:
        rows[changed] = features(vectors[n:], lexical[n:])
    return TextFeatures(vectors[:n], lexical[:n], written, rows)


def load_head(path: Path = HEAD_FILE) -> ToxicityHead:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return ToxicityHead(
        version=str(raw["version"]),
        labels={
            label: LabelHead(
                np.asarray(entry["weights"], dtype=np.float64),
                float(entry["bias"]),
                float(entry["slope"]),
                float(entry["intercept"]),
            )
            for label, entry in raw["labels"].items()
        },
        neutral_labels=frozenset(raw.get("neutral_labels", [])),
    )


def save_head(path: Path, head: ToxicityHead, card: dict[str, object]) -> None:
    body = {
        "version": head.version,
        "neutral_labels": sorted(head.neutral_labels),
        "card": card,
        "labels": {
            label: {
                "weights": [round(float(w), 6) for w in h.weights],
                "bias": round(h.bias, 6),
                "slope": round(h.slope, 6),
                "intercept": round(h.intercept, 6),
            }
            for label, h in head.labels.items()
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body) + "\n", encoding="utf-8")
