"""The webhook service's own metrics."""

from prometheus_client import Counter, Gauge, Histogram

from services.webhooks.deliveries import Outcome

ATTEMPTS = Counter(
    "webhook_deliveries_total",
    "Delivery attempts by what they led to (succeeded, retrying, dead).",
    ["outcome"],
)
LATENCY = Histogram(
    "webhook_delivery_seconds",
    "One POST to an endpoint, connect to response (or to the timeout).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PENDING = Gauge("webhook_deliveries_pending", "Deliveries scheduled for a first attempt or retry.")
DEAD = Gauge("webhook_dead_letters", "Deliveries whose retries all failed, waiting for a replay.")
ENQUEUED = Counter(
    "webhook_events_total", "Deliveries scheduled from Kafka events, by event type.", ["event"]
)

for _outcome in Outcome:
    ATTEMPTS.labels(outcome=_outcome)
