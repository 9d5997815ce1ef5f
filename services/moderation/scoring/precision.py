"""The number format the encoders compute in.

On CPUs with bfloat16 units (AMX or AVX512-BF16) torch's bfloat16 autocast runs the MiniLM and
bert-base passes about twice as fast as float32, and the scores move by less than 0.01. Elsewhere
bfloat16 is emulated and slower, so `auto` picks it only where the CPU has the units, and every
engine checks agreement with float32 at start-up before serving bfloat16 scores.
"""

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import torch

from services.moderation.scoring import LabelScores, Precision

BF16_FLAGS = {"amx_bf16", "avx512_bf16"}
MAX_DISAGREEMENT = 0.02  # largest |probability difference| from float32 an engine may serve
# Probe texts for the start-up agreement check: short and long, polite and abusive.
PROBES = (
    "Thanks for the careful reporting on the council budget.",
    "You stupid idiot, shut your mouth",
    "I will find you and hurt you",
    "Agreed.",
    "The new bridge will cut twenty minutes off my commute, which matters more than the cost "
    "overrun the article dwells on. Still, the council should publish the full contract.",
    "What a load of garbage, every one of these politicians is a liar and a thief",
    "Muslims, Christians and atheists all live on my street and we get on fine.",
    "Check out my channel for free bitcoin",
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


@contextmanager
def computing_in(bfloat16: bool) -> Iterator[None]:
    """torch inference, in bfloat16 autocast when asked."""
    with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bfloat16):
        yield


def max_difference(a: Sequence[LabelScores], b: Sequence[LabelScores]) -> float:
    return max((abs(x[k] - y[k]) for x, y in zip(a, b, strict=True) for k in x), default=0.0)


def agrees_with_float32(
    engine: str, score: Callable[[bool], Sequence[LabelScores]]
) -> tuple[bool, float]:
    """Scores the probes both ways (`score(bfloat16)`); logs and refuses bfloat16 past the limit."""
    difference = max_difference(score(False), score(True))
    if difference > MAX_DISAGREEMENT:
        log.warning(
            "bfloat16 scores differ from float32 by %.4f (limit %.2f): %s computes in float32",
            difference,
            MAX_DISAGREEMENT,
            engine,
        )
        return False, difference
    return True, difference
