"""Watches comments.moderated and feed.published for the run, noting when each comment got its
verdict and when it reached the feed (the Kafka record's creation time, stamped by the worker
and by the publisher when they produced it)."""

import asyncio
import json
from contextlib import suppress
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer

from services.common.contract import Topic
from services.common.settings import KafkaSettings


@dataclass
class Arrivals:
    verdict_ms: dict[str, int] = field(default_factory=dict)
    approved: set[str] = field(default_factory=set)
    feed_ms: dict[str, int] = field(default_factory=dict)


class Observer:
    """Reads both topics from the beginning (they hold only this run's records)."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.arrivals = Arrivals()
        self._moderated = kafka.topic(Topic.COMMENTS_MODERATED)
        self._consumer = AIOKafkaConsumer(
            self._moderated,
            kafka.topic(Topic.FEED_PUBLISHED),
            bootstrap_servers=kafka.bootstrap_servers,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **kafka.client_options(),
        )
        self._task: asyncio.Task[None] | None = None
        self._progress = asyncio.Event()  # set after each batch of records is noted

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _run(self) -> None:
        seen = self.arrivals
        while True:
            batches = await self._consumer.getmany(timeout_ms=100)
            for records in batches.values():
                for r in records:
                    comment_id = (r.key or b"").decode()
                    if r.topic == self._moderated:
                        # The first verdict counts; a moderator's later one is not the pipeline's.
                        if comment_id not in seen.verdict_ms:
                            seen.verdict_ms[comment_id] = r.timestamp
                            if json.loads(r.value or b"{}").get("verdict") == "approved":
                                seen.approved.add(comment_id)
                    else:
                        seen.feed_ms.setdefault(comment_id, r.timestamp)
            if batches:
                self._progress.set()

    async def settled(self, ids: list[str], within_seconds: float) -> None:
        """Until every comment has a verdict and every approved one is in the feed."""
        async with asyncio.timeout(within_seconds):
            self._progress.clear()
            while not self._complete(ids):
                await self._progress.wait()
                self._progress.clear()

    def _complete(self, ids: list[str]) -> bool:
        seen = self.arrivals
        return all(i in seen.verdict_ms for i in ids) and all(
            i in seen.feed_ms for i in ids if i in seen.approved
        )
