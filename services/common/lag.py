"""Consumer lag measured by the consuming service itself: end offset minus committed offset.

Operators need lag without a separate exporter, and KEDA or an alert needs it per topic and
group. A background task measures it every few seconds with its own admin and consumer
clients (no group membership, so it never triggers a rebalance) and never blocks the loop.
"""

from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.common import metrics
from services.common.periodic import every
from services.common.settings import KafkaSettings


@dataclass(frozen=True)
class Subscription:
    topic: str
    group: str


def partition_lag(
    end: Mapping[TopicPartition, int],
    beginning: Mapping[TopicPartition, int],
    committed: Mapping[TopicPartition, int],
) -> int:
    """Records the group still has to read; a partition it never committed counts from the start
    (the services consume with auto_offset_reset=earliest)."""
    lag = 0
    for tp, end_offset in end.items():
        position = committed.get(tp, -1)
        start = position if position >= 0 else beginning.get(tp, 0)
        lag += max(end_offset - start, 0)
    return lag


class LagProbe:
    """One admin and one group-less consumer client, reused between measurements."""

    def __init__(self, settings: KafkaSettings, client_id: str) -> None:
        options: dict[str, Any] = {
            "bootstrap_servers": settings.bootstrap_servers,
            "client_id": f"{client_id}-lag",
            "request_timeout_ms": 10_000,
            **settings.client_options(),
        }
        self._admin = AIOKafkaAdminClient(**options)
        self._offsets = AIOKafkaConsumer(group_id=None, enable_auto_commit=False, **options)

    async def start(self) -> None:
        await self._admin.start()
        await self._offsets.start()

    async def close(self) -> None:
        with suppress(Exception):
            await self._offsets.stop()
        with suppress(Exception):
            await self._admin.close()

    async def measure(self, subscription: Subscription) -> int:
        described = await self._admin.describe_topics([subscription.topic])
        tps = [
            TopicPartition(subscription.topic, p["partition"])
            for topic in described
            for p in topic["partitions"]
        ]
        if not tps:
            raise LookupError(f"topic {subscription.topic} has no partitions")
        committed = await self._admin.list_consumer_group_offsets(subscription.group)
        end = await self._offsets.end_offsets(tps)
        beginning = await self._offsets.beginning_offsets(tps)
        return partition_lag(
            end, beginning, {tp: meta.offset for tp, meta in committed.items() if tp in end}
        )


class LagMonitor:
    """Refreshes kafka_consumer_lag for the service's subscriptions; reconnects after a failure."""

    def __init__(
        self, settings: KafkaSettings, client_id: str, subscriptions: Collection[Subscription]
    ) -> None:
        self._settings = settings
        self._client_id = client_id
        self._subscriptions = subscriptions
        self._probe: LagProbe | None = None

    async def refresh(self) -> None:
        try:
            if self._probe is None:
                self._probe = LagProbe(self._settings, self._client_id)
                await self._probe.start()
            for sub in self._subscriptions:
                lag = await self._probe.measure(sub)
                metrics.CONSUMER_LAG.labels(topic=sub.topic, group=sub.group).set(lag)
        except BaseException:
            await self.close()  # start from fresh clients next time
            raise

    async def close(self) -> None:
        if self._probe is not None:
            await self._probe.close()
            self._probe = None


@asynccontextmanager
async def lag_monitor(
    settings: KafkaSettings, client_id: str, subscriptions: Collection[Subscription]
) -> AsyncIterator[None]:
    """Measure lag in the background (every KAFKA_LAG_INTERVAL_SECONDS) while the service runs."""
    monitor = LagMonitor(settings, client_id, subscriptions)
    try:
        async with every(
            f"{client_id}-consumer-lag", settings.lag_interval_seconds, monitor.refresh
        ):
            yield
    finally:
        await monitor.close()
