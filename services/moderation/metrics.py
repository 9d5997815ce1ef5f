"""The moderation worker's own metrics (FastStream's come from its middleware)."""

from prometheus_client import Counter, Histogram

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
