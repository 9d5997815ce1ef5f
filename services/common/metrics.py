"""Metrics every consuming service reports the same way: dead letters and its own consumer lag."""

from prometheus_client import Counter, Gauge

DLQ_MESSAGES = Counter(
    "dlq_messages_total",
    "Records sent to the dead-letter topic, by why they were refused.",
    ["reason"],
)
UNREADABLE_SKIPPED = Counter(
    "unreadable_records_skipped_total",
    "Unreadable records a consumer passed over because another group dead-letters them.",
    ["topic", "group"],
)
CONSUMER_LAG = Gauge(
    "kafka_consumer_lag",
    "Records on the topic not yet committed by the consumer group (end offset - committed).",
    ["topic", "group"],
)
