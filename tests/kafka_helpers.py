"""Produce straight to a topic, and read one from the start until a condition holds."""

import asyncio
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.common.contract import Topic
from services.common.settings import KafkaSettings


async def read_until(
    settings: KafkaSettings,
    topic: Topic,
    done: Callable[[list[bytes]], bool],
    within_seconds: float = 60.0,
) -> list[bytes]:
    """Every value on the topic (all partitions, from the start) once `done(values)` is true."""
    consumer = AIOKafkaConsumer(
        settings.topic(topic),
        bootstrap_servers=settings.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    values: list[bytes] = []
    await consumer.start()
    try:
        async with asyncio.timeout(within_seconds):
            while not done(values):
                batches = await consumer.getmany(timeout_ms=200)
                values.extend(r.value or b"" for records in batches.values() for r in records)
    finally:
        await consumer.stop()
    return values


async def produce(
    settings: KafkaSettings, topic: Topic, records: Iterable[tuple[bytes, bytes]]
) -> None:
    """Send (key, value) records one by one, each acknowledged, in order."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(settings.topic(topic), value, key=key)
    finally:
        await producer.stop()
