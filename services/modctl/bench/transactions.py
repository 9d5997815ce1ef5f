"""What Kafka transactions would cost the worker: its consume-process-produce loop, measured
plain (idempotent producer, then an offset commit) and transactional (the verdicts and the
offsets committed atomically), over the same records in one run."""

import asyncio
import time
from dataclasses import dataclass
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import OffsetAndMetadata

from services.common.settings import KafkaSettings

PAYLOAD = b'{"verdict": "approved", "reasons": [], "scores": {"toxicity": {"toxicity": 0.01}}}' * 8


@dataclass(frozen=True)
class LoopResult:
    mode: str
    records: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.records / self.seconds


async def _topics(kafka: KafkaSettings, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(n, num_partitions=6, replication_factor=1) for n in names]
        )
    finally:
        await admin.close()


async def _fill(kafka: KafkaSettings, topic: str, records: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, linger_ms=5)
    await producer.start()
    try:
        await asyncio.gather(
            *[producer.send(topic, PAYLOAD, key=str(i).encode()) for i in range(records)]
        )
        await producer.flush()
    finally:
        await producer.stop()


async def _loop(
    kafka: KafkaSettings, source: str, sink: str, records: int, batch: int, transactional: bool
) -> LoopResult:
    group = f"bench-{uuid4().hex[:8]}"
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    options = {"transactional_id": f"{group}-tx"} if transactional else {"enable_idempotence": True}
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, linger_ms=5, **options)
    await consumer.start()
    await producer.start()
    done = 0
    started = time.perf_counter()
    try:
        while done < records:
            batches = await consumer.getmany(timeout_ms=1000, max_records=batch)
            polled = [r for rs in batches.values() for r in rs]
            if not polled:
                continue
            offsets = {
                TopicPartition(r.topic, r.partition): OffsetAndMetadata(r.offset + 1, "")
                for r in polled
            }
            if transactional:
                async with producer.transaction():
                    await asyncio.gather(*[producer.send(sink, PAYLOAD, key=r.key) for r in polled])
                    await producer.send_offsets_to_transaction(offsets, group)
            else:
                sent = await asyncio.gather(
                    *[producer.send(sink, PAYLOAD, key=r.key) for r in polled]
                )
                await asyncio.gather(*sent)
                await consumer.commit(offsets)
            done += len(polled)
        return LoopResult(
            "transactional" if transactional else "plain", done, time.perf_counter() - started
        )
    finally:
        await producer.stop()
        await consumer.stop()


async def measure(kafka: KafkaSettings, records: int, batch: int) -> list[LoopResult]:
    """Both loops over the same input, alternated twice so neither gets a warmer machine."""
    run = uuid4().hex[:8]
    source, sink = f"{kafka.namespace}bench-{run}.in", f"{kafka.namespace}bench-{run}.out"
    await _topics(kafka, [source, sink])
    await _fill(kafka, source, records)
    results = []
    for transactional in (False, True, False, True):
        results.append(await _loop(kafka, source, sink, records, batch, transactional))
    return results
