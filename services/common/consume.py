"""Batch consumers: records into events; what cannot be read goes to the dead-letter topic,
sent there by the one consumer group that owns the topic's dead letters."""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any, Protocol, TypeVar

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import BaseModel, ValidationError

from services.common import metrics
from services.common.contract import DEAD_LETTER_OWNERS
from services.common.retry import process_isolating, retry_transient

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


class Record(Protocol):
    """The parts of aiokafka's ConsumerRecord we read."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class DeadLetterReason(StrEnum):
    """Why a record was refused: a small fixed set, so it can be a metric label."""

    INVALID_JSON = "invalid_json"
    UNKNOWN_SCHEMA = "unknown_schema"  # a schema_version this build does not read
    INVALID_EVENT = "invalid_event"  # JSON, but not the event the topic carries
    PROCESSING_FAILED = "processing_failed"  # valid, but handling it kept failing


# Every reason is reported from the start (at 0), so the first dead letter shows as an increase.
for _reason in DeadLetterReason:
    metrics.DLQ_MESSAGES.labels(reason=_reason)


@dataclass(frozen=True)
class Poison:
    record: Record
    error: str
    reason: DeadLetterReason = DeadLetterReason.INVALID_EVENT


async def raw_bodies(message: Any) -> list[bytes]:
    """A subscriber decoder that leaves parsing to the handler: a bad record can't stop a batch."""
    return [record.value or b"" for record in message.raw_message]


def describe(error: ValidationError) -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "payload"
    return f"{field}: {first['msg']}"


def classify(error: ValidationError) -> DeadLetterReason:
    errors = error.errors()
    if errors[0]["type"] == "json_invalid":
        return DeadLetterReason.INVALID_JSON
    if any(e["loc"][:1] == ("schema_version",) for e in errors):
        return DeadLetterReason.UNKNOWN_SCHEMA
    return DeadLetterReason.INVALID_EVENT


def decode_records(
    records: tuple[Record, ...], model: type[M]
) -> tuple[list[tuple[Record, M]], list[Poison]]:
    """Each readable record with its event, and the records that are not a valid `model`."""
    events: list[tuple[Record, M]] = []
    poison: list[Poison] = []
    for record in records:
        try:
            events.append((record, model.model_validate_json(record.value or b"")))
        except ValidationError as error:
            poison.append(Poison(record, describe(error), classify(error)))
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
            "reason": poison.reason,
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
            "dlq.reason": poison.reason.value,
        },
    )
    metrics.DLQ_MESSAGES.labels(reason=poison.reason).inc()


def owns_dead_letters(topic: str, group: str) -> bool:
    """Whether `group` dead-letters `topic`'s unreadable records (`DEAD_LETTER_OWNERS`); the
    names as KafkaSettings gives them, under one namespace. A topic with no owner is an error:
    its unreadable records would reach the dead-letter topic from nobody."""
    for source, owner in DEAD_LETTER_OWNERS.items():
        if topic.endswith(source):
            return group == topic.removesuffix(source) + owner
    raise ValueError(f"topic {topic!r} has no dead-letter owner in DEAD_LETTER_OWNERS")


def skip_unreadable(group: str, poison: Poison) -> None:
    record = poison.record
    log.info(
        "skipped an unreadable record (another group dead-letters it)",
        extra={"topic": record.topic, "partition": record.partition, "offset": record.offset},
    )
    metrics.UNREADABLE_SKIPPED.labels(topic=record.topic, group=group).inc()


def subscribe_batches(
    broker: KafkaBroker,
    *,
    topic: str,
    group: str,
    model: type[M],
    dlq_topic: str,
    handle: Callable[[list[M]], Awaitable[None]],
    max_records: int,
    batch_timeout_ms: int = 200,
) -> None:
    """Consume `topic` in batches of `model` events; commit only after `handle` succeeded.

    Records that are not a valid `model` are dead-lettered first, so they never block the
    partition; only by the group that owns the topic's dead letters, the others skip them.
    Outages are waited out and a failing item is isolated (`process_isolating`); an item whose
    handling kept failing is dead-lettered by its group, as only that group failed on it. A
    batch interrupted by shutdown is left uncommitted and delivered again.
    """
    owner = owns_dead_letters(topic, group)
    if not owner:
        metrics.UNREADABLE_SKIPPED.labels(topic=topic, group=group)  # reported from 0

    @broker.subscriber(
        topic,
        group_id=group,
        auto_offset_reset="earliest",
        batch=True,
        max_records=max_records,
        batch_timeout_ms=batch_timeout_ms,
        decoder=raw_bodies,
        title=f"{group}:{topic}",
    )
    async def consume(body: list[bytes], message: KafkaMessage) -> None:
        decoded, poison = decode_records(message.raw_message, model)
        for bad in poison:
            if owner:
                await retry_transient(partial(dead_letter, broker, dlq_topic, bad))
            else:
                skip_unreadable(group, bad)

        async def handle_items(items: list[tuple[Record, M]]) -> None:
            await handle([event for _, event in items])

        async def give_up(item: tuple[Record, M], error: BaseException) -> None:
            failure = Poison(
                item[0], f"processing failed: {error!r}", DeadLetterReason.PROCESSING_FAILED
            )
            await dead_letter(broker, dlq_topic, failure)

        await process_isolating(decoded, handle_items, give_up)
