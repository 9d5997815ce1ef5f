"""Consumer lag: end offset minus committed offset, measured against the real broker."""

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import REGISTRY

from services.common.contract import TOPIC_LAYOUT, Topic
from services.common.lag import LagMonitor, LagProbe, Subscription, partition_lag
from services.common.settings import KafkaSettings
from tests.conftest import unique
from tests.kafka_helpers import produce

A, B = TopicPartition("t", 0), TopicPartition("t", 1)


def test_lag_counts_from_the_committed_offset() -> None:
    assert partition_lag({A: 10, B: 7}, {A: 0, B: 0}, {A: 4, B: 7}) == 6


def test_a_partition_never_committed_counts_from_its_first_record() -> None:
    # Retention removed records 0-2 of B: the group will start at 3.
    assert partition_lag({A: 10, B: 7}, {A: 0, B: 3}, {A: 10}) == 4


async def commit_all(settings: KafkaSettings, topic: Topic, group: str) -> None:
    """Commit the end of every partition for `group`, as a caught-up service would."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        name = settings.topic(topic)
        tps = [TopicPartition(name, p) for p in range(TOPIC_LAYOUT[topic].partitions)]
        consumer.assign(tps)
        await consumer.commit(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


@pytest.mark.kafka
def test_lag_follows_records_produced_and_committed(kafka_settings: KafkaSettings) -> None:
    # comments.dlq: no service of the session consumes it, so only this test moves its offsets.
    topic, group = kafka_settings.topic(Topic.COMMENTS_DLQ), unique("lag-test")
    sub = Subscription(topic, group)

    async def scenario() -> tuple[int, int, int]:
        probe = LagProbe(kafka_settings, "test")
        await probe.start()
        try:
            await commit_all(kafka_settings, Topic.COMMENTS_DLQ, group)
            caught_up = await probe.measure(sub)
            records = [(b"k", b"v%d" % i) for i in range(5)]
            await produce(kafka_settings, Topic.COMMENTS_DLQ, records)
            behind = await probe.measure(sub)
            await commit_all(kafka_settings, Topic.COMMENTS_DLQ, group)
            return caught_up, behind, await probe.measure(sub)
        finally:
            await probe.close()

    assert asyncio.run(scenario()) == (0, 5, 0)


@pytest.mark.kafka
def test_monitor_reports_the_gauge_per_topic_and_group(kafka_settings: KafkaSettings) -> None:
    sub = Subscription(kafka_settings.topic(Topic.FEED_PUBLISHED), unique("nobody"))

    async def refresh() -> None:
        monitor = LagMonitor(kafka_settings, "test", [sub])
        try:
            await monitor.refresh()
        finally:
            await monitor.close()

    asyncio.run(refresh())
    labels = {"topic": sub.topic, "group": sub.group}
    assert REGISTRY.get_sample_value("kafka_consumer_lag", labels) is not None
