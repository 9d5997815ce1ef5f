"""The Perspective-compatible API's own metrics."""

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "perspective_requests_total", "Perspective API calls by method and status.", ["method", "code"]
)
DO_NOT_STORE = Counter(
    "perspective_do_not_store_total", "analyze calls with doNotStore: true (the text is not kept)."
)
INFERENCE = Histogram(
    "perspective_inference_seconds", "One engine call for a micro-batch.", ["engine"]
)
BATCH_SIZE = Histogram(
    "perspective_batch_size", "Requests sharing one engine call.", buckets=(1, 2, 4, 8, 16, 32, 64)
)
