"""A timed run of a scoring function: comments per second at one batch size."""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    engine: str
    batch: int
    comments: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.comments / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        return (
            f"{self.engine:22} batch {self.batch:>2}  {self.comments} comments in "
            f"{self.seconds:6.2f}s = {self.per_second:7.1f}/s"
        )


def time_batches(
    name: str, work: Callable[[Sequence[str]], object], texts: list[str], batch: int
) -> Rate:
    """One warm-up batch, then every text once in batches of `batch`."""
    work(texts[:batch])
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        work(texts[i : i + batch])
    return Rate(name, batch, len(texts), time.perf_counter() - start)
