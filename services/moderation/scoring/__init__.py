"""What every scoring engine offers: toxicity per label for a batch, embeddings for relevance."""

import os
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

LabelScores = dict[str, float]
Vectors = NDArray[np.float32]


class Engine(Protocol):
    """Blocking and CPU-bound: callers run it off the event loop."""

    name: str
    model_version: str

    def score_batch(self, texts: Sequence[str]) -> list[LabelScores]:
        """Probabilities in 0-1 for each of the engine's labels."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Unit-length vectors, one row per text, so a dot product is the cosine."""
        ...


def load_engine(name: str) -> Engine:
    """The engine named by MODERATION_ENGINE, loaded once at start-up."""
    # Local files only unless the operator says otherwise; set before transformers is imported,
    # or a failing hub lookup retries for about half a minute.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no bars in JSON logs
    if name == "embedded":
        from services.moderation.scoring.embedded import EmbeddedEngine

        return EmbeddedEngine()
    raise ValueError(f"MODERATION_ENGINE: unknown engine {name!r} (known: embedded)")
