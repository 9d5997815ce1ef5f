"""Create the contract's topics with their partition counts and configs, once per cluster."""

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from services.common.contract import TOPIC_LAYOUT
from services.common.settings import KafkaSettings

log = logging.getLogger(__name__)


async def ensure_topics(settings: KafkaSettings, replication_factor: int = 1) -> list[str]:
    """Create the missing topics; return the names created. Existing topics are left as they are."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id="modctl",
        **settings.client_options(),
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name=settings.topic(topic),
                num_partitions=layout.partitions,
                replication_factor=replication_factor,
                topic_configs=layout.config,
            )
            for topic, layout in TOPIC_LAYOUT.items()
            if settings.topic(topic) not in existing
        ]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                log.info("topics created concurrently by another process")
        return [t.name for t in missing]
    finally:
        await admin.close()


async def delete_topics(settings: KafkaSettings) -> None:
    """Delete the namespace's topics: for short-lived namespaces (benchmarks, test runs)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id="modctl",
        **settings.client_options(),
    )
    await admin.start()
    try:
        await admin.delete_topics([settings.topic(t) for t in TOPIC_LAYOUT])
    finally:
        await admin.close()
