"""The publisher's own metrics."""

from prometheus_client import Counter, Gauge, Histogram

RELEASE_SECONDS = Histogram(
    "comment_release_seconds",
    "From submission to the article feed.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
OUTCOMES = Counter(
    "publisher_verdicts_applied_total",
    "Verdicts applied to the views, by outcome (released, held, rejected, duplicate, stale).",
    ["outcome"],
)
REVIEW_QUEUE_DEPTH = Gauge("review_queue_depth", "Comments waiting for a moderator.", ["tenant"])
DESK_DECISIONS = Counter(
    "desk_decisions_total",
    "Moderator decisions on the desk, by action (approve, reject, undo).",
    ["action"],
)
