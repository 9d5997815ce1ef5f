"""The scoring engines alone: comments/s at batch sizes 1, 8 and 32, beside a naive loop that
calls `Detoxify.predict` once per comment on the same model, all in one run.

The embedded engine is timed as the worker uses it (toxicity and the relevance embedding of
each batch); the Detoxify engine and the naive loop score toxicity only, on a bert-base shaped
checkpoint with random weights (speed depends on the shape, not the weights). The "detoxify
int8" rows are the engine with MODERATION_DETOXIFY_QUANTIZE (ONNX Runtime, int8 weights), the
"bf16" rows the torch model in bfloat16 (MODERATION_PRECISION, where the CPU has the units).
"""

import random
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.moderation.scoring import Engine

BATCH_SIZES = (1, 8, 32)
MIN_CHARS, MAX_CHARS = 20, 2000  # the comment lengths both benchmarks draw


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
    from services.modctl.training_data import load_examples

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


def as_worker_runs(engine: "Engine") -> Callable[[Sequence[str]], object]:
    """What the worker's inference thread does per batch: scores and embeddings, one pass."""
    from services.moderation.analysis import run_engine

    return lambda texts: run_engine(engine, dict(enumerate(texts)), {})


def measure_embedded(texts: list[str]) -> tuple[list[Rate], dict[str, float], list[str]]:
    """The engine as the worker loads it and, where that is bfloat16, in float32 beside it."""
    from services.moderation.scoring.embedded import EmbeddedEngine
    from services.moderation.scoring.precision import describe_check, max_difference

    engine = EmbeddedEngine()
    rates = [time_batches("embedded", as_worker_runs(engine), texts, b) for b in BATCH_SIZES]
    if not engine.bfloat16:
        return rates, {}, []
    full = EmbeddedEngine(precision="float32")
    work = as_worker_runs(full)
    rates += [time_batches("embedded float32", work, texts, b) for b in BATCH_SIZES]
    sample = texts[:64]
    difference = max_difference(full.score_batch(sample), engine.score_batch(sample))
    check = describe_check("bfloat16", engine.bfloat16_difference, True)
    return rates, {"embedded": difference}, [f"embedded {check}"]


@dataclass
class DetoxifyRun:
    rates: list[Rate]
    naive: Rate
    differences: dict[str, float]  # a faster mode's scores vs float32's, on the same texts
    checks: list[str]  # each faster mode's own agreement check at load


def naive_detoxify(engine: Any) -> Any:
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
    """float32, bfloat16 (where the CPU has the units) and ONNX int8, beside the naive loop."""
    from services.modctl.bench.detoxify_shape import build_checkpoint
    from services.moderation.scoring.detoxify import DetoxifyEngine
    from services.moderation.scoring.precision import (
        describe_check,
        max_difference,
        wants_bfloat16,
    )

    checkpoint, config_dir = build_checkpoint(workdir, shape)

    def load(**mode: Any) -> DetoxifyEngine:
        return DetoxifyEngine(
            checkpoint=checkpoint, config_dir=config_dir, models_dir=workdir, **mode
        )

    full = load(precision="float32")
    naive = naive_detoxify(full)
    naive_rate = time_batches("Detoxify.predict loop", lambda t: naive.predict(t[0]), texts, 1)
    fast: dict[str, DetoxifyEngine] = {}
    if wants_bfloat16("auto"):
        fast["detoxify bf16"] = load(precision="bfloat16")
    if quantize:
        fast["detoxify int8"] = load(quantize=True)
    rates = [time_batches("detoxify float32", full.score_batch, texts, b) for b in BATCH_SIZES]
    for name, engine in fast.items():
        rates += [time_batches(name, engine.score_batch, texts, b) for b in BATCH_SIZES]
    sample = texts[:64]
    reference = full.score_batch(sample)
    differences = {n: max_difference(reference, e.score_batch(sample)) for n, e in fast.items()}
    checks = []
    if "detoxify bf16" in fast:
        bf16 = fast["detoxify bf16"]
        check = describe_check("bfloat16", bf16.bfloat16_difference, bf16.bfloat16)
        checks.append(f"detoxify {check}")
    if "detoxify int8" in fast:
        int8 = fast["detoxify int8"]
        in_use = int8.model_version.endswith("+int8")
        checks.append(f"detoxify {describe_check('int8 ONNX', int8.int8_max_diff, in_use)}")
    return DetoxifyRun(rates, naive_rate, differences, checks)


@dataclass
class ScorerReport:
    texts: int
    mean_chars: float
    rates: list[Rate]
    naive: Rate | None
    differences: dict[str, float]
    checks: list[str]

    def best(self, engine: str) -> Rate | None:
        found = [r for r in self.rates if r.engine == engine and r.batch == max(BATCH_SIZES)]
        return found[0] if found else None

    def lines(self) -> list[str]:
        out = [f"{self.texts} comments, mean {self.mean_chars:.0f} characters"]
        out += [r.line() for r in self.rates]
        if self.naive is not None:
            out.append(self.naive.line())
            for engine in ("detoxify float32", "detoxify bf16", "detoxify int8"):
                rate = self.best(engine)
                if rate is not None:
                    ratio = rate.per_second / self.naive.per_second
                    out.append(
                        f"ratio {engine} batch {rate.batch} / Detoxify.predict loop: "
                        f"{ratio:.2f}x (target >= 3x)"
                    )
        for name, difference in self.differences.items():
            out.append(f"{name} vs float32: max |score diff| {difference:.4f} (<= 64 comments)")
        out += self.checks
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
            "max_score_diff": self.differences,
            "checks": self.checks,
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
    differences: dict[str, float] = {}
    checks: list[str] = []
    with ExitStack() as stack:
        for engine in engines:
            if engine == "embedded":
                found, diff, check = measure_embedded(texts)
                rates, differences, checks = rates + found, differences | diff, checks + check
            elif engine == "detoxify":
                where = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
                run = measure_detoxify(texts, where, shape, quantize)
                rates, naive = rates + run.rates, run.naive
                differences, checks = differences | run.differences, checks + run.checks
            else:
                raise ValueError(f"--engines: unknown engine {engine!r} (embedded, detoxify)")
    mean_chars = sum(len(t) for t in texts) / len(texts)
    return ScorerReport(len(texts), mean_chars, rates, naive, differences, checks)
