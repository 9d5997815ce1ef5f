"""An unreadable record on comments.moderated, read by the publisher and by webhooks: the
publisher dead-letters it, webhooks skips it and counts the skip, so it is dead-lettered once."""

from collections.abc import Iterator

import httpx
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from services.common.contract import ConsumerGroup, Topic
from services.common.dlq import list_dead_letters
from services.common.settings import KafkaSettings
from services.modctl.processes import started
from tests.conftest import unique
from tests.processes import ServiceProcess, service_env
from tests.webhooks.conftest import StartWebhooks
from tests.webhooks.helpers import eventually

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

SKIPPED = "unreadable_records_skipped"


@pytest.fixture
def publisher(kafka_settings: KafkaSettings, redis_url: str) -> Iterator[ServiceProcess]:
    with started(ServiceProcess("publisher", service_env(kafka_settings, redis_url))) as service:
        yield service


async def skipped(url: str, topic: str, group: str) -> float:
    """The service's count of unreadable records of `topic` that `group` skipped."""
    async with httpx.AsyncClient(base_url=url) as http:
        text = (await http.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{SKIPPED}_total" and sample.labels == {
                "topic": topic,
                "group": group,
            }:
                return sample.value
    return 0.0


async def committed(kafka: KafkaSettings, group: ConsumerGroup, tp: TopicPartition) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(kafka.group(group))
    finally:
        await admin.close()
    return offsets[tp].offset if tp in offsets else -1


async def test_an_unreadable_verdict_is_dead_lettered_once_by_its_owner(
    publisher: ServiceProcess, start_webhooks: StartWebhooks, kafka_settings: KafkaSettings
) -> None:
    webhooks = start_webhooks()
    topic = kafka_settings.topic(Topic.COMMENTS_MODERATED)
    verdicts = kafka_settings.group(ConsumerGroup.WEBHOOKS_VERDICTS)
    before = await skipped(webhooks.url, topic, verdicts)
    key = unique("poison").encode()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_settings.bootstrap_servers, acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, b"\x00not a verdict", key=key)
    finally:
        await producer.stop()
    tp = TopicPartition(topic, sent.partition)

    # Both groups have read past it (each commits after its batch is handled and any dead
    # letter of the batch sent), so every dead letter it will ever get is on the topic now.
    for group in (ConsumerGroup.PUBLISHER, ConsumerGroup.WEBHOOKS_VERDICTS):

        async def past(group: ConsumerGroup = group) -> bool | None:
            return await committed(kafka_settings, group, tp) > sent.offset or None

        await eventually(past, seconds=60, what=f"{group} to commit past the record")

    letters = [d for d in await list_dead_letters(kafka_settings) if d.key == key]
    assert len(letters) == 1
    assert letters[0].source_topic == topic
    assert letters[0].headers["dlq.reason"] == "invalid_json"
    assert await skipped(webhooks.url, topic, verdicts) == before + 1
    publisher_group = kafka_settings.group(ConsumerGroup.PUBLISHER)
    assert await skipped(publisher.url, topic, publisher_group) == 0
