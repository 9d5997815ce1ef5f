"""The engine alone, no Kafka: the ceiling the pipeline is measured against."""

import time
from dataclasses import dataclass

from services.moderation.analysis import run_engine
from services.moderation.scoring import Engine


@dataclass(frozen=True)
class ScorerResult:
    comments: int
    batch: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.comments / self.seconds


def engine_throughput(engine: Engine, texts: list[str], batch: int) -> ScorerResult:
    """What the worker's inference thread does per batch (scores and embeddings, one pass),
    after one untimed batch that warms the model up."""
    run_engine(engine, dict(enumerate(texts[:batch])), {})
    timed = texts[batch:]
    started = time.perf_counter()
    for first in range(0, len(timed), batch):
        run_engine(engine, dict(enumerate(timed[first : first + batch])), {})
    return ScorerResult(len(timed), batch, time.perf_counter() - started)
