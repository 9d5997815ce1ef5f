"""The scoring engines alone: comments/s at batch sizes 1, 8 and 32, beside a naive loop that
calls `Detoxify.predict` once per comment on the same model, all in one run, on news-length
comments (texts.py), with the short-text figure beside them.

The embedded engine is timed as the worker uses it (toxicity and the relevance embedding of
each batch) and against the bare encoder's forward pass over the same texts (encoder.py):
`scorer_vs_encoder` is the share of the model's own speed the scorer keeps. The two are
measured twice, interleaved, and the better of each counts. The Detoxify engine and the naive
loop score toxicity only, on a bert-base shaped checkpoint with random weights (speed depends
on the shape, not the weights). The "detoxify int8" rows are the engine with
MODERATION_DETOXIFY_QUANTIZE (ONNX Runtime, int8 weights), the "bf16" rows the torch model in
bfloat16 (MODERATION_PRECISION, where the CPU has the units).
"""

import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.modctl.bench.rates import Rate, time_batches

if TYPE_CHECKING:
    from services.moderation.scoring import Engine

BATCH_SIZES = (1, 8, 32)


def as_worker_runs(engine: "Engine") -> Callable[[Sequence[str]], object]:
    """What the worker's inference thread does per batch: scores and embeddings, one pass."""
    from services.moderation.analysis import run_engine

    return lambda texts: run_engine(engine, dict(enumerate(texts)), {})


@dataclass
class EmbeddedRun:
    rates: list[Rate]
    encoder: list[Rate]  # the bare forward pass, each way of cutting passes, twice
    short: Rate  # batch 32 on the short mix
    checks: list[str]

    @property
    def scorer(self) -> Rate:
        """The better of the two batch-32 runs on the news-length texts."""
        found = [r for r in self.rates if r.engine == "embedded" and r.batch == max(BATCH_SIZES)]
        return max(found, key=lambda r: r.per_second)


def measure_embedded(texts: list[str], short: list[str]) -> EmbeddedRun:
    """The engine as the worker loads it, interleaved with the bare encoder on the same texts."""
    from services.modctl.bench.encoder import encoder_rates
    from services.moderation.scoring.embedded import EmbeddedEngine
    from services.moderation.scoring.precision import describe_check
    from services.moderation.settings import ModerationSettings

    engine = EmbeddedEngine(models_dir=ModerationSettings().models_dir)
    work = as_worker_runs(engine)
    encoder = encoder_rates(texts)
    rates = [time_batches("embedded", work, texts, b) for b in BATCH_SIZES]
    encoder += encoder_rates(texts)
    rates.append(time_batches("embedded", work, texts, max(BATCH_SIZES)))
    checks = [f"embedded serves {engine.runtime}"]
    if engine.probe_seconds:
        timings = ", ".join(f"{n} {s * 1000:.0f} ms" for n, s in engine.probe_seconds.items())
        checks.append(f"embedded probe texts: {timings}")
        checks.append(
            f"embedded {describe_check('bfloat16', engine.bfloat16_difference, engine.bfloat16)}"
        )
    short_rate = time_batches("embedded, short mix", work, short, max(BATCH_SIZES))
    return EmbeddedRun(rates, encoder, short_rate, checks)


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
    lengths: dict[str, float]  # of the news-length texts
    short_lengths: dict[str, float]
    rates: list[Rate]
    naive: Rate | None
    differences: dict[str, float]
    checks: list[str]
    embedded: EmbeddedRun | None = None

    def best(self, engine: str) -> Rate | None:
        found = [r for r in self.rates if r.engine == engine and r.batch == max(BATCH_SIZES)]
        return max(found, key=lambda r: r.per_second) if found else None

    def figures(self) -> dict[str, float]:
        """The embedded engine's headline figures, as `modctl bench --json` names them."""
        if self.embedded is None:
            return {}
        scorer, encoder = self.embedded.scorer, max(r.per_second for r in self.embedded.encoder)
        return {
            "scorer_cps": round(scorer.per_second, 1),
            "encoder_cps": round(encoder, 1),
            "scorer_vs_encoder": round(scorer.per_second / encoder, 3),
            "short_scorer_cps": round(self.embedded.short.per_second, 1),
        }

    def lines(self) -> list[str]:
        from services.modctl.bench.texts import describe_lengths

        out = [f"news-length mix: {describe_lengths(self.lengths)}"]
        out += [r.line() for r in self.rates]
        if self.embedded is not None:
            out += [r.line() for r in self.embedded.encoder]
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
        if self.embedded is not None:
            f = self.figures()
            out += [
                f"embedded batch 32 at news length: {f['scorer_cps']:.1f} comments/s "
                f"(toxicity + embedding); bare encoder {f['encoder_cps']:.1f}/s; "
                f"scorer/encoder {f['scorer_vs_encoder']:.2f} (target >= 0.9)",
                f"short mix ({describe_lengths(self.short_lengths)}): "
                f"embedded batch 32 {f['short_scorer_cps']:.1f} comments/s",
            ]
        return out

    def as_dict(self) -> dict[str, object]:
        rates = self.rates + (
            [*self.embedded.encoder, self.embedded.short] if self.embedded else []
        )
        return {
            **self.figures(),
            "news_length": self.lengths,
            "short_mix": self.short_lengths,
            "rates": [asdict(r) | {"per_second": round(r.per_second, 2)} for r in rates],
            "naive": asdict(self.naive) | {"per_second": round(self.naive.per_second, 2)}
            if self.naive
            else None,
            "max_score_diff": self.differences,
            "checks": self.checks,
        }


def measure(
    texts: list[str],
    short: list[str],
    engines: Sequence[str],
    shape: str = "original",
    quantize: bool = True,
    workdir: Path | None = None,
) -> ScorerReport:
    """Every engine named, at every batch size, on the same news-length texts."""
    from services.modctl.bench.texts import length_figures

    report = ScorerReport(length_figures(texts), length_figures(short), [], None, {}, [])
    with ExitStack() as stack:
        for engine in engines:
            if engine == "embedded":
                report.embedded = measure_embedded(texts, short)
                report.rates += report.embedded.rates
                report.checks += report.embedded.checks
            elif engine == "detoxify":
                where = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
                run = measure_detoxify(texts, where, shape, quantize)
                report.rates += run.rates
                report.naive = run.naive
                report.differences |= run.differences
                report.checks += run.checks
            else:
                raise ValueError(f"--engines: unknown engine {engine!r} (embedded, detoxify)")
    return report
