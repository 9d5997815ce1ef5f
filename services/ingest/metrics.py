"""Ingest's own metrics."""

from prometheus_client import Counter

COMMENTS_INGESTED = Counter("comments_ingested_total", "Comments handed to Kafka.", ["tenant"])
ARTICLES_INGESTED = Counter("articles_ingested_total", "Articles handed to Kafka.", ["tenant"])
PUBLISH_FAILURES = Counter(
    "ingest_publish_failures_total", "Requests refused because Kafka did not accept them."
)
