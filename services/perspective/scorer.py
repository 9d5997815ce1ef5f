"""Scores for analyze calls: one worker thread runs the engine; requests that arrive while it is
busy share its next call (a micro-batch), so concurrency costs no extra passes."""

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from services.moderation.analysis import (
    ChunkVectors,
    article_groups,
    relevance,
    shared_groups,
    text_chunks,
)
from services.moderation.scoring import Engine, LabelScores
from services.perspective import metrics


@dataclass(frozen=True)
class Job:
    texts: list[str]  # the comment, then any sentences to score on their own
    context: list[str] | None = None  # for relevance: the text the comment is about


@dataclass(frozen=True)
class Result:
    scores: list[LabelScores]  # one per text of the job
    relevance: float | None


def run_batch(engine: Engine, jobs: Sequence[Job], known: ChunkVectors) -> list[Result]:
    """Blocking: one score call for every text of the batch, one embed call for the comments
    that have a context, and one for context chunks not in `known`.

    Relevance as in the worker: the context entries in chunks, best chunk wins."""
    scores = engine.score_batch([text for job in jobs for text in job.texts])
    chunked = [text_chunks(None, "\n".join(job.context or [])) for job in jobs]
    related = [i for i, chunks in enumerate(chunked) if chunks]
    found: dict[int, float] = {}
    if related:
        comments = engine.embed([jobs[i].texts[0] for i in related])
        matrices = known.matrices(engine, [chunked[i] for i in related])
        for i, comment, matrix in zip(related, comments, matrices, strict=True):
            shared = shared_groups(jobs[i].texts[0], article_groups(chunked[i]))
            found[i] = relevance(comment, matrix, shared=shared)
    results, offset = [], 0
    for i, job in enumerate(jobs):
        results.append(Result(scores[offset : offset + len(job.texts)], found.get(i)))
        offset += len(job.texts)
    return results


class Scorer:
    def __init__(self, engine: Engine, batch_size: int) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self.labels = list(engine.score_batch(["warm-up"])[0])  # also loads lazy weights
        self._queue: asyncio.Queue[tuple[Job, asyncio.Future[Result]]] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="perspective-engine")
        self._task: asyncio.Task[None] | None = None
        self._known = ChunkVectors()

    async def __aenter__(self) -> "Scorer":
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task:
            self._task.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def score(self, job: Job) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        await self._queue.put((job, future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0][0].texts)
            while not self._queue.empty() and size < self.batch_size:
                batch.append(self._queue.get_nowait())
                size += len(batch[-1][0].texts)
            started = time.perf_counter()
            try:
                results = await loop.run_in_executor(
                    self._executor, run_batch, self.engine, [job for job, _ in batch], self._known
                )
            except Exception as error:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            metrics.INFERENCE.labels(engine=self.engine.name).observe(time.perf_counter() - started)
            metrics.BATCH_SIZE.observe(len(batch))
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
