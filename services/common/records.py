"""Raw Kafka records into events; what cannot be read goes to the dead-letter topic."""

import logging
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from faststream.kafka import KafkaBroker
from pydantic import BaseModel, ValidationError

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


class Record(Protocol):
    """The parts of aiokafka's ConsumerRecord we read."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class Poison:
    record: Record
    error: str


async def raw_bodies(message: Any) -> list[bytes]:
    """A subscriber decoder that leaves parsing to the handler: a bad record can't stop a batch."""
    return [record.value or b"" for record in message.raw_message]


def describe(error: ValidationError) -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "payload"
    return f"{field}: {first['msg']}"


def decode_records(records: tuple[Record, ...], model: type[M]) -> tuple[list[M], list[Poison]]:
    events: list[M] = []
    poison: list[Poison] = []
    for record in records:
        try:
            events.append(model.model_validate_json(record.value or b""))
        except ValidationError as error:
            poison.append(Poison(record, describe(error)))
    return events, poison


async def dead_letter(broker: KafkaBroker, dlq_topic: str, poison: Poison) -> None:
    """Keep the original bytes and say where they came from and why they were refused."""
    record = poison.record
    log.warning(
        "dead-lettered a record",
        extra={
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "error": poison.error,
        },
    )
    await broker.publish(
        record.value or b"",
        dlq_topic,
        key=record.key,
        headers={
            "dlq.source.topic": record.topic,
            "dlq.source.partition": str(record.partition),
            "dlq.source.offset": str(record.offset),
            "dlq.error": poison.error[:1000],
        },
    )
