"""The embedded engine's trained toxicity head: one calibrated linear model per label on the
MiniLM embedding plus the lexical profanity score. Plain numbers in JSON, no pickle."""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from services.moderation.scoring import Vectors

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

    def predict(self, features: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
        out = {}
        for label, head in self.labels.items():
            margin = features @ head.weights + head.bias
            out[label] = 1.0 / (1.0 + np.exp(-(head.slope * margin + head.intercept)))
        return out


def features(embeddings: Vectors, profanity: NDArray[np.float64]) -> NDArray[np.float64]:
    """The embedding and the log-odds of the lexical profanity model, side by side."""
    clipped = np.clip(profanity, 1e-4, 1 - 1e-4)
    logit = np.log(clipped / (1 - clipped))
    return np.hstack([embeddings.astype(np.float64), logit[:, None]])


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
    )


def save_head(path: Path, head: ToxicityHead, card: dict[str, object]) -> None:
    body = {
        "version": head.version,
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
