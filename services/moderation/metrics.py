"""The moderation worker's own metrics (FastStream's come from its middleware)."""

from collections.abc import Iterable

from prometheus_client import Counter, Histogram

CACHES = ("decision", "score", "article_embedding", "parent", "in_flight")

VERDICTS = Counter(
    "moderation_verdicts_total",
    "Verdicts reached, by verdict and first reason.",
    ["verdict", "reason"],
)
INFERENCE_SECONDS = Histogram(
    "moderation_inference_seconds",
    "Time spent in the scoring engine per batch.",
    ["engine"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BATCH_SIZE = Histogram(
    "moderation_batch_size",
    "Comments per consumed batch.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
CACHE_HITS = Counter("moderation_cache_hits_total", "Cache hits, by cache.", ["cache"])
CACHE_MISSES = Counter("moderation_cache_misses_total", "Cache misses, by cache.", ["cache"])
DECISION_SECONDS = Histogram(
    "moderation_decision_seconds",
    "From submission to verdict.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
SCORES = Histogram(
    "moderation_score",
    "Scores of newly decided comments, by label: each toxicity label, and relevance.",
    ["label"],
    buckets=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
)


def report_from_start(engine: str, score_labels: Iterable[str]) -> None:
    """Create the labelled series at 0 before the first batch: a series that first appears
    already counted shows no increase, so the first batch after a start would be invisible."""
    INFERENCE_SECONDS.labels(engine=engine)
    for cache in CACHES:
        CACHE_HITS.labels(cache=cache)
        CACHE_MISSES.labels(cache=cache)
    for label in score_labels:
        SCORES.labels(label=label)
