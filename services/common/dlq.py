"""Inspecting and re-driving the dead-letter topic: what failed, where it came from, and why."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata

from services.common.broker import MAX_MESSAGE_BYTES
from services.common.contract import ConsumerGroup, Topic
from services.common.settings import KafkaSettings

ASSIGNMENT_TIMEOUT_SECONDS = 30.0
# A dead letter can be as large as any record the topics accept.
FETCH_BYTES = 2 * MAX_MESSAGE_BYTES


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @property
    def source_topic(self) -> str:
        return self.headers.get("dlq.source.topic", "")

    @property
    def error(self) -> str:
        return self.headers.get("dlq.error", "")


def reading_consumer(
    kafka: KafkaSettings, topic: str, group: str | None = None
) -> AIOKafkaConsumer:
    """A consumer for `snapshot`: from the start (no group) or from the group's offsets, with
    room for the largest record the topics accept, committing only when told to."""
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=FETCH_BYTES,
    )


async def assigned(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The partitions of `topic` once the consumer (subscribed to it) has them all."""
    async with asyncio.timeout(ASSIGNMENT_TIMEOUT_SECONDS):
        while True:
            expected = consumer.partitions_for_topic(topic)
            partitions = sorted(consumer.assignment())
            if expected and len(partitions) == len(expected):
                return partitions
            await asyncio.sleep(0.05)  # the group join runs in aiokafka's background task


async def snapshot(
    consumer: AIOKafkaConsumer, topic: str
) -> AsyncIterator[tuple[TopicPartition, ConsumerRecord[bytes, bytes]]]:
    """Every record up to the end offsets seen now, from where the consumer starts.

    A consumer without a group starts at the beginning (`auto_offset_reset="earliest"`);
    one with a group starts at its committed offsets.
    """
    partitions = await assigned(consumer, topic)
    end = await consumer.end_offsets(partitions)
    remaining = [tp for tp in partitions if await consumer.position(tp) < end[tp]]
    while remaining:
        batches = await consumer.getmany(*remaining, timeout_ms=500)
        for tp, records in batches.items():
            for record in records:
                if record.offset < end[tp]:
                    yield tp, record
        remaining = [tp for tp in remaining if await consumer.position(tp) < end[tp]]


def _letter(record: ConsumerRecord[bytes, bytes]) -> DeadLetter:
    headers = {k: v.decode(errors="replace") for k, v in record.headers}
    return DeadLetter(record.partition, record.offset, record.key, record.value or b"", headers)


async def list_dead_letters(kafka: KafkaSettings) -> list[DeadLetter]:
    topic = kafka.topic(Topic.COMMENTS_DLQ)
    consumer = reading_consumer(kafka, topic)
    await consumer.start()
    try:
        return [_letter(record) async for _, record in snapshot(consumer, topic)]
    finally:
        await consumer.stop()


async def replay_dead_letters(kafka: KafkaSettings) -> list[DeadLetter]:
    """Produce each dead letter not replayed before back to its source topic, same key.

    Progress is the `dlq-replay` group's committed offset, so running it twice replays once.
    A record that still cannot be processed simply comes back to the dead-letter topic.
    """
    topic = kafka.topic(Topic.COMMENTS_DLQ)
    consumer = reading_consumer(kafka, topic, kafka.group(ConsumerGroup.DLQ_REPLAY))
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers,
        enable_idempotence=True,
        max_request_size=MAX_MESSAGE_BYTES,
    )
    replayed: list[DeadLetter] = []
    await consumer.start()
    await producer.start()
    try:
        async for tp, record in snapshot(consumer, topic):
            letter = _letter(record)
            if letter.source_topic:
                await producer.send_and_wait(letter.source_topic, letter.value, key=letter.key)
                replayed.append(letter)
            await consumer.commit({tp: OffsetAndMetadata(letter.offset + 1, "")})
    finally:
        await producer.stop()
        await consumer.stop()
    return replayed
