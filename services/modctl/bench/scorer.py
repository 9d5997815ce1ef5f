"""The scoring engines alone: comments/s at batch sizes 1, 8 and 32, beside a naive loop that
calls `Detoxify.predict` once per comment on the same model, all in one run.

The embedded engine is timed as the worker uses it (toxicity and the relevance embedding of
each batch); the Detoxify engine and the naive loop score toxicity only, on a bert-base shaped
checkpoint with random weights (speed depends on the shape, not the weights). The "detoxify
int8" rows are the engine with MODERATION_DETOXIFY_QUANTIZE: ONNX Runtime with int8 weights.
"""

import random
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BATCH_SIZES = (1, 8, 32)
MIN_CHARS, MAX_CHARS = 20, 2000


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


def sample_texts(data: Path, count: int, seed: int = 0) -> list[str]:
    """`count` development-data comments of 20-2,000 characters, in a random (seeded) order."""
    from services.modctl.train import load_examples

    texts = [
        e.text
        for e in load_examples(data, per_source=max(count, 500), seed=seed)
        if MIN_CHARS <= len(e.text) <= MAX_CHARS
    ]
    if not texts:
        raise ValueError(f"--data {data}: no comment texts of {MIN_CHARS}-{MAX_CHARS} characters")
    rng = random.Random(seed)
    rng.shuffle(texts)
    return [texts[i % len(texts)] for i in range(count)]


def time_batches(
    name: str, work: Callable[[Sequence[str]], object], texts: list[str], batch: int
) -> Rate:
    """One warm-up batch, then every text once in batches of `batch`."""
    work(texts[:batch])
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        work(texts[i : i + batch])
    return Rate(name, batch, len(texts), time.perf_counter() - start)


def _embedded() -> Callable[[Sequence[str]], object]:
    from services.moderation.scoring.embedded import EmbeddedEngine

    engine = EmbeddedEngine()

    def both(texts: Sequence[str]) -> object:
        return engine.score_batch(texts), engine.embed(texts)

    return both


@dataclass
class DetoxifyRun:
    rates: list[Rate]
    naive: Rate
    max_diff: float | None  # int8 vs full-precision engine scores, on the same texts
    int8_check: str | None  # the int8 engine's own agreement check at load


def _naive_detoxify(engine: Any) -> Any:
    """A `Detoxify` object on the engine's own model and tokenizer (Detoxify's loader would
    look the model type up on the hub), so `predict` runs Detoxify's code on the same weights."""
    from detoxify import Detoxify

    naive = Detoxify.__new__(Detoxify)
    naive.model = engine.full_precision_model
    naive.tokenizer = engine.tokenizer
    naive.class_names = list(engine.labels)
    naive.device = "cpu"
    return naive


def measure_detoxify(texts: list[str], workdir: Path, shape: str, quantize: bool) -> DetoxifyRun:
    from services.modctl.bench.detoxify_shape import build_checkpoint
    from services.moderation.scoring.detoxify import DetoxifyEngine
    from services.moderation.scoring.onnx_int8 import describe_check, largest_difference

    checkpoint, config_dir = build_checkpoint(workdir, shape)
    engine = DetoxifyEngine(checkpoint=checkpoint, config_dir=config_dir, models_dir=workdir)
    naive = _naive_detoxify(engine)
    rates = [time_batches("detoxify", engine.score_batch, texts, b) for b in BATCH_SIZES]
    naive_rate = time_batches("Detoxify.predict loop", lambda t: naive.predict(t[0]), texts, 1)
    max_diff = check = None
    if quantize:
        fast = DetoxifyEngine(
            checkpoint=checkpoint, config_dir=config_dir, models_dir=workdir, quantize=True
        )
        rates += [time_batches("detoxify int8", fast.score_batch, texts, b) for b in BATCH_SIZES]
        sample = texts[: min(len(texts), 64)]
        max_diff = largest_difference(engine.score_batch(sample), fast.score_batch(sample))
        check = describe_check(fast.int8_max_diff, fast.model_version.endswith("+int8"))
    return DetoxifyRun(rates, naive_rate, max_diff, check)


@dataclass
class ScorerReport:
    texts: int
    mean_chars: float
    rates: list[Rate]
    naive: Rate | None
    int8_max_diff: float | None
    int8_check: str | None = None

    def best(self, engine: str) -> Rate | None:
        found = [r for r in self.rates if r.engine == engine and r.batch == max(BATCH_SIZES)]
        return found[0] if found else None

    def lines(self) -> list[str]:
        out = [f"{self.texts} comments, mean {self.mean_chars:.0f} characters"]
        out += [r.line() for r in self.rates]
        if self.naive is not None:
            out.append(self.naive.line())
            for engine in ("detoxify", "detoxify int8"):
                rate = self.best(engine)
                if rate is not None:
                    ratio = rate.per_second / self.naive.per_second
                    out.append(
                        f"ratio {engine} batch {rate.batch} / Detoxify.predict loop: "
                        f"{ratio:.2f}x (target >= 3x)"
                    )
        if self.int8_max_diff is not None:
            out.append(f"int8 vs full precision: max |score diff| {self.int8_max_diff:.4f}")
        if self.int8_check is not None:
            out.append(self.int8_check)
        embedded = self.best("embedded")
        if embedded is not None:
            out.append(
                f"embedded batch {embedded.batch}: {embedded.per_second:.1f} comments/s "
                "(toxicity + embedding; target >= 120)"
            )
        return out

    def as_dict(self) -> dict[str, object]:
        return {
            "texts": self.texts,
            "mean_chars": round(self.mean_chars, 1),
            "rates": [asdict(r) | {"per_second": round(r.per_second, 2)} for r in self.rates],
            "naive": asdict(self.naive) | {"per_second": round(self.naive.per_second, 2)}
            if self.naive
            else None,
            "int8_max_diff": self.int8_max_diff,
            "int8_check": self.int8_check,
        }


def measure(
    texts: list[str],
    engines: Sequence[str],
    shape: str = "original",
    quantize: bool = True,
    workdir: Path | None = None,
) -> ScorerReport:
    """Every engine named, at every batch size, on the same texts."""
    rates: list[Rate] = []
    naive = None
    max_diff = None
    check = None
    with ExitStack() as stack:
        for engine in engines:
            if engine == "embedded":
                work = _embedded()
                rates += [time_batches("embedded", work, texts, b) for b in BATCH_SIZES]
            elif engine == "detoxify":
                where = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
                run = measure_detoxify(texts, where, shape, quantize)
                rates += run.rates
                naive, max_diff, check = run.naive, run.max_diff, run.int8_check
            else:
                raise ValueError(f"--engines: unknown engine {engine!r} (embedded, detoxify)")
    mean_chars = sum(len(t) for t in texts) / len(texts)
    return ScorerReport(len(texts), mean_chars, rates, naive, max_diff, check)
