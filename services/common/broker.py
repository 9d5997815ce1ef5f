"""The Kafka broker factory: delivery guarantees are decided here, once."""

import logging

from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.middlewares import AckPolicy
from prometheus_client import REGISTRY, CollectorRegistry

from services.common.settings import KafkaSettings

MAX_MESSAGE_BYTES = 6 * 1024 * 1024


def create_broker(
    settings: KafkaSettings, *, client_id: str, registry: CollectorRegistry = REGISTRY
) -> KafkaBroker:
    return KafkaBroker(
        # A list: FastStream would take a comma-separated string for one host.
        settings.servers(),
        client_id=client_id,
        security=settings.security(),
        acks="all",
        enable_idempotence=True,
        # Commit after the handler succeeded only (FastStream's default ACK_FIRST is
        # at-most-once); an error re-seeks the partition so the batch is delivered again.
        ack_policy=AckPolicy.NACK_ON_ERROR,
        # Topics are created explicitly with their partition counts (`modctl topics`).
        allow_auto_create_topics=False,
        max_request_size=MAX_MESSAGE_BYTES,
        linger_ms=5,
        graceful_timeout=30.0,
        middlewares=(KafkaPrometheusMiddleware(registry=registry, app_name=client_id),),
        # Through our JSON handler; one line per consumed batch only at DEBUG.
        logger=logging.getLogger(f"faststream.{client_id}"),
        log_level=logging.DEBUG,
    )
