"""The benchmarks' comment texts. By default a news-length mix, as news sites' comments run
(mean 400-650 characters, a tenth over 900): Civil Comments posts and New York Times reader
comments, shorter ones joined as a reader quoting the comment they answer would. The short
mix (development texts of every source, tweets included, mean about 170 characters) is kept
for comparison with earlier figures."""

import bisect
import random
from pathlib import Path

import numpy as np

MIN_CHARS, MAX_CHARS = 20, 2000  # the lengths of the texts drawn from the data
LONG_SHARE = 0.12  # comments of 900-1,600 characters; the rest 60-700
QUOTE_JOIN = "\n\n"


def news_sources(data: Path) -> list[str]:
    """News-site comments of 20-2,000 characters: Civil Comments posts and NYT comments (the
    NYT sets are research-only: benchmark texts here, never training data)."""
    from services.modctl import training_data as sets

    if not data.is_dir():
        raise ValueError(f"--data: {data} is not a directory (the development data)")
    loaders = (
        sets.civil_float,
        sets.civil_autolabel,
        sets.civil_toxicspans,
        sets.civil_sociosim,
        sets.nyt_published,
    )
    found = [e for load in loaders for e in load(data)]
    return list(dict.fromkeys(e.text for e in found if MIN_CHARS <= len(e.text) <= MAX_CHARS))


def target_lengths(count: int, rng: random.Random) -> list[int]:
    return [
        round(rng.uniform(900, 1600) if rng.random() < LONG_SHARE else rng.uniform(60, 700))
        for _ in range(count)
    ]


def news_length_mix(pool: list[str], count: int, seed: int = 0) -> list[str]:
    """`count` unique texts near lengths drawn from the news mix: for each, the unused text
    closest to the length still missing, joined until within 85% of the target."""
    rng = random.Random(seed)
    unused = sorted(set(pool), key=len)
    lengths = [len(t) for t in unused]
    made: list[str] = []
    for target in target_lengths(count, rng):
        parts: list[str] = []
        while unused and sum(map(len, parts)) < 0.85 * target:
            missing = target - sum(map(len, parts))
            i = min(bisect.bisect_left(lengths, missing), len(unused) - 1)
            parts.append(unused.pop(i))
            lengths.pop(i)
        if sum(map(len, parts)) < 0.85 * target:
            raise ValueError(f"the data holds too few comments for {count} news-length texts")
        made.append(QUOTE_JOIN.join(parts))
    rng.shuffle(made)
    return made


def short_mix(data: Path, count: int, seed: int = 0) -> list[str]:
    """Development texts of every training source (tweets and forum posts included)."""
    from services.modctl.training_data import load_examples

    examples = load_examples(data, per_source=max(count, 500), seed=seed)
    texts = list(dict.fromkeys(e.text for e in examples if MIN_CHARS <= len(e.text) <= MAX_CHARS))
    if len(texts) < count:
        raise ValueError(f"--data: {len(texts)} usable texts in {data}, the run needs {count}")
    random.Random(seed).shuffle(texts)
    return texts[:count]


def describe_lengths(figures: dict[str, float]) -> str:
    return (
        f"{figures['texts']:.0f} comments, mean {figures['mean_chars']:.0f} characters, "
        f"p90 {figures['p90_chars']:.0f}"
    )


def length_figures(texts: list[str]) -> dict[str, float]:
    lengths = [len(t) for t in texts]
    return {
        "texts": len(texts),
        "mean_chars": round(float(np.mean(lengths)), 1),
        "p90_chars": round(float(np.percentile(lengths, 90)), 1),
    }
