"""The number format the encoders compute in.

On CPUs with AMX, bfloat16 weights run the MiniLM and bert-base passes about twice as fast as
float32, and the scores move by less than 0.01; on one with AVX512-BF16 but no AMX, bfloat16
ran at 0.65x float32, and where the CPU has neither it is emulated. So under `auto` bfloat16
is a candidate only where the CPU has the units, and then the engine times both on the probe
texts and serves bfloat16 only if it is faster and its scores agree with float32's.
"""

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from services.moderation.scoring import LabelScores, Precision

BF16_FLAGS = {"amx_bf16", "avx512_bf16"}
MAX_DISAGREEMENT = 0.02  # largest |probability difference| from float32 an engine may serve
# Scored both ways at load: short and long (several forward passes, padding inside a
# pass), clean and abusive (scores far from 0.5, where rounding errors would show).
PROBES = (
    "Thanks.",
    "Agreed, well said.",
    "You stupid idiot, shut your mouth.",
    "Great article, thanks for the clear explanation of the budget.",
    "NATO members in Europe should pay more for their own defence.",
    "I think the council got this one wrong, but I see why they did it.",
    "What a load of garbage. Whoever wrote this is a moron and should be fired.",
    "Source?",
    "The figures in the third paragraph do not match the table further down the page.",
    "People like you are the reason this country is going to hell, you worthless scum.",
    "My grandmother lived on that street for forty years and never saw anything like it.",
    "Nope.",
    "Spending on Ukraine is a question for parliament, not for a referendum, in my view.",
    "I will find where you live and make you regret writing this.",
    "Good news for once. " * 12,
    " ".join(
        [
            "The article leaves out the most important part of the story, namely who pays.",
            "Every year the same promise is made, every year the bill lands on the towns,",
            "and every year the reporting treats it as a surprise. Look at the last three",
            "budgets and the pattern is plain: the money is announced, the money is moved,",
            "and the services that were meant to get it wait for another year. I would like",
            "to see a follow-up that asks the ministry for the actual transfers, line by line.",
        ]
        * 3
    ),
)

log = logging.getLogger(__name__)


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def wants_bfloat16(setting: Precision, flags: set[str] | None = None) -> bool:
    if setting != "auto":
        return setting == "bfloat16"
    return bool(BF16_FLAGS & (cpu_flags() if flags is None else flags))


def max_difference(a: Sequence[LabelScores], b: Sequence[LabelScores]) -> float:
    return max((abs(x[k] - y[k]) for x, y in zip(a, b, strict=True) for k in x), default=0.0)


def agrees_with_float32(
    mode: str, engine: str, score: Callable[[bool], Sequence[LabelScores]]
) -> tuple[bool, float]:
    """Scores PROBES in float32 (`score(False)`) and in the faster `mode` (`score(True)`); past
    MAX_DISAGREEMENT the mode is refused, with a warning, and the engine stays in float32."""
    difference = max_difference(score(False), score(True))
    if difference > MAX_DISAGREEMENT:
        log.warning(
            "%s scores differ from float32 by up to %.4f (limit %.2f): %s serves float32",
            mode,
            difference,
            MAX_DISAGREEMENT,
            engine,
        )
        return False, difference
    return True, difference


def seconds_to_run(work: Callable[[], object], repeats: int = 3) -> float:
    """The fastest of `repeats` runs: the least disturbed by the rest of the machine."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def faster_that_agrees(
    precision: Precision,
    engine: str,
    modes: tuple[str, str],
    score: Callable[[bool], Sequence[LabelScores]],
) -> tuple[bool, float, dict[str, float]]:
    """Whether to serve the faster mode (`modes[1]`, `score(True)`) instead of float32
    (`modes[0]`, `score(False)`): only if its scores agree with float32's on PROBES and, under
    `auto`, it scored them faster. Both are timed after the agreement check warmed them up,
    and the timings logged: CPU flags say which units exist, not which mode is faster (on a
    CPU with AVX512-BF16 but no AMX, bfloat16 ran at 0.65x float32)."""
    agrees, difference = agrees_with_float32(modes[1], engine, score)
    seconds = {
        modes[0]: round(seconds_to_run(lambda: score(False)), 4),
        modes[1]: round(seconds_to_run(lambda: score(True)), 4),
    }
    serve = agrees and (precision != "auto" or seconds[modes[1]] < seconds[modes[0]])
    log.info(
        "%s on %d probe texts: %s %.0f ms, %s %.0f ms; serving %s",
        engine,
        len(PROBES),
        modes[0],
        seconds[modes[0]] * 1000,
        modes[1],
        seconds[modes[1]] * 1000,
        modes[1] if serve else modes[0],
    )
    return serve, difference, seconds


def describe_check(mode: str, difference: float | None, in_use: bool) -> str:
    """What the agreement check at load measured and decided, for `modctl` to print."""
    measured = "not measured" if difference is None else f"{difference:.4f}"
    verdict = f"{mode} in use" if in_use else "the engine serves float32"
    return (
        f"{mode} check at load: max |score diff| {measured} on {len(PROBES)} probe texts "
        f"(limit {MAX_DISAGREEMENT}): {verdict}"
    )
