"""What every scoring engine offers: toxicity per label for a batch, embeddings for relevance."""

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray

LabelScores = dict[str, float]
Vectors = NDArray[np.float32]
Precision = Literal["auto", "float32", "bfloat16"]  # what the encoders compute in (precision.py)
# Installed Detoxify checkpoints and the ONNX graphs the engines export once (onnx/).
DEFAULT_MODELS_DIR = Path(".data/models")


class Engine(Protocol):
    """Blocking and CPU-bound: callers run it off the event loop."""

    name: str
    model_version: str

    def score_batch(self, texts: Sequence[str]) -> list[LabelScores]:
        """Probabilities in 0-1 for each of the engine's labels."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Comments' unit-length vectors, one row per text, so a dot product is the cosine:
        read as the labels read them."""
        ...

    def embed_articles(self, texts: Sequence[str]) -> Vectors:
        """Article chunks' unit-length vectors, read as written: the labels read a comment
        with identity terms made neutral, but an article about Russian troops or Muslim
        voters is about them, and relevance needs to know which."""
        ...


class CheckpointError(RuntimeError):
    """A model file cannot be loaded; the message names the file and what is wrong with it."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"Detoxify checkpoint {path}: {problem}")
        self.path = str(path)
        self.problem = problem

    def __reduce__(self) -> tuple[type["CheckpointError"], tuple[str, str]]:
        """Rebuilt from its parts, so it can cross from the inference process to the worker."""
        return CheckpointError, (self.path, self.problem)
