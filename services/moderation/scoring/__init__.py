"""What every scoring engine offers: toxicity per label for a batch, embeddings for relevance."""

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from services.moderation.settings import ModerationSettings

LabelScores = dict[str, float]
Vectors = NDArray[np.float32]
Precision = Literal["auto", "float32", "bfloat16"]  # what the encoders compute in (precision.py)


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


class CheckpointError(RuntimeError):
    """A model file cannot be loaded; the message names the file and what is wrong with it."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"Detoxify checkpoint {path}: {problem}")
        self.path = str(path)
        self.problem = problem

    def __reduce__(self) -> tuple[type["CheckpointError"], tuple[str, str]]:
        """Rebuilt from its parts, so it can cross from the inference process to the worker."""
        return CheckpointError, (self.path, self.problem)


ENGINES = ("embedded", "detoxify")


def load_engine(name: str, settings: "ModerationSettings | None" = None) -> Engine:
    """The engine named by MODERATION_ENGINE, loaded once at start-up.

    A Detoxify model that cannot be loaded raises `CheckpointError` naming the file.
    """
    # Local files only unless the operator says otherwise; set before transformers is imported,
    # or a failing hub lookup retries for about half a minute.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no bars in JSON logs
    from services.moderation.scoring.memory import limit_growth

    limit_growth()
    from services.moderation.settings import ModerationSettings

    settings = settings or ModerationSettings()
    if name == "embedded":
        from services.moderation.scoring.embedded import EmbeddedEngine

        return EmbeddedEngine(
            precision=settings.precision,
            threads=settings.torch_threads,
            models_dir=settings.models_dir,
        )
    if name == "detoxify":
        from services.moderation.scoring.detoxify import DetoxifyEngine

        return DetoxifyEngine(
            settings.detoxify_model,
            settings.detoxify_checkpoint,
            settings.detoxify_config_dir,
            settings.models_dir,
            quantize=settings.detoxify_quantize,
            threads=settings.torch_threads,
            precision=settings.precision,
        )
    raise ValueError(f"MODERATION_ENGINE: unknown engine {name!r} (known: {', '.join(ENGINES)})")
