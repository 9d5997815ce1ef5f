"""Produce straight to a topic, and read one from the start until a condition holds."""

from collections.abc import Iterable

from aiokafka import AIOKafkaProducer

from services.common.contract import Topic
from services.common.settings import KafkaSettings
from services.modctl.testbed.stream import read_until

__all__ = ["produce", "read_until"]


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
