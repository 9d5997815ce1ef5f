"""Posts comments to ingest the way a platform does: batches over HTTP, at full speed or at a
fixed rate, noting when each comment was submitted."""

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from services.modctl.bench.corpus import Article, Comment


@dataclass
class Poster:
    client: httpx.AsyncClient
    headers: dict[str, str]  # the tenant's key
    submitted_ms: dict[str, float] = field(default_factory=dict)
    refusals: int = 0

    async def articles(self, articles: Sequence[Article]) -> None:
        for a in articles:
            response = await self.client.put(
                f"/v1/articles/{a.article_id}",
                json={"title": a.title, "body": a.body},
                headers=self.headers,
            )
            response.raise_for_status()

    async def post(self, batch: Sequence[Comment]) -> None:
        """One request; a 503 (Kafka unavailable) is retried with the same ids, like a client."""
        payload = {
            "comments": [
                {
                    "article_id": c.article_id,
                    "comment_id": c.comment_id,
                    "author": {"id": c.author, "display_name": c.author},
                    "body": c.body,
                }
                for c in batch
            ]
        }
        sent = time.time() * 1000
        for _ in range(20):
            response = await self.client.post("/v1/comments", json=payload, headers=self.headers)
            if response.status_code == 202:
                break
            if response.status_code != 503:
                raise RuntimeError(
                    f"ingest refused a batch: {response.status_code} {response.text}"
                )
            self.refusals += 1
            await asyncio.sleep(0.5)  # the client's back-off
        else:
            raise RuntimeError("ingest kept answering 503")
        for c in batch:
            self.submitted_ms[c.comment_id] = sent

    async def full_speed(self, comments: Sequence[Comment], batch: int, senders: int) -> None:
        """`senders` concurrent clients, each posting its next batch as soon as one is accepted."""
        queue = [comments[i : i + batch] for i in range(0, len(comments), batch)]
        queue.reverse()

        async def sender() -> None:
            while queue:
                await self.post(queue.pop())

        await asyncio.gather(*(sender() for _ in range(senders)))

    async def fixed_rate(self, comments: Sequence[Comment], per_second: float, batch: int) -> None:
        """Batches sent on a schedule, each without waiting for the one before (open loop)."""
        started = time.monotonic()
        pending = []
        for n, first in enumerate(range(0, len(comments), batch)):
            due = started + n * batch / per_second
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            pending.append(asyncio.create_task(self.post(comments[first : first + batch])))
        await asyncio.gather(*pending)
