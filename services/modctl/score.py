"""`modctl score`: JSONL in, JSONL out, offline; the worker's engine, analysis and policy."""

import json
from collections.abc import Iterator
from typing import IO

from pydantic import BaseModel, Field, ValidationError

from services.common.consume import describe
from services.moderation.analysis import (
    ChunkVectors,
    EngineRun,
    article_groups,
    reaction_vectors,
    relevance,
    run_engine,
    shared_groups,
    text_chunks,
)
from services.moderation.policy import Policy, decide
from services.moderation.scoring import Engine


class ScoreRequest(BaseModel):
    id: str
    text: str
    article_text: str | None = None
    parent_text: str | None = None  # the comment this one replies to, if any


class ScoreResult(BaseModel):
    id: str
    toxicity: dict[str, float]
    relevance: float | None
    verdict: str
    reasons: list[dict[str, object]] = Field(default_factory=list)


def score_requests(
    engine: Engine, policy: Policy, requests: list[ScoreRequest], known: ChunkVectors
) -> list[ScoreResult]:
    """Relevance as the worker computes it: each line of the article text is a paragraph,
    chunked; best chunk wins; a reply is also read together with its parent. An article
    already seen in `known` is not embedded again."""
    texts = {i: r.text for i, r in enumerate(requests)}
    articles = {i: text_chunks(None, r.article_text or "") for i, r in enumerate(requests)}
    articles = {i: chunks for i, chunks in articles.items() if chunks}
    parents = {
        i: r.parent_text
        for i, r in enumerate(requests)
        if i in articles and r.parent_text and r.parent_text.strip()
    }
    run: EngineRun[int, int, int] = run_engine(engine, texts, {}, parents)
    matrices = dict(zip(articles, known.matrices(engine, list(articles.values())), strict=True))
    results = []
    for i, request in enumerate(requests):
        analysis = run.analyses[i]
        score = None
        if i in matrices:
            reactions = reaction_vectors(engine) if i in run.contexts else None
            shared = shared_groups(request.text, article_groups(articles[i]))
            score = relevance(
                analysis.embedding, matrices[i], run.contexts.get(i), reactions, shared
            )
        verdict, reasons = decide(policy, analysis.toxicity, score, request.text)
        results.append(
            ScoreResult(
                id=request.id,
                toxicity=analysis.toxicity,
                relevance=score,
                verdict=verdict,
                reasons=[r.model_dump(exclude_none=True) for r in reasons],
            )
        )
    return results


def read_requests(source: IO[str]) -> Iterator[ScoreRequest]:
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            yield ScoreRequest.model_validate_json(line)
        except ValidationError as error:
            raise ValueError(f"line {number}: {describe(error)}") from error


def score_stream(engine: Engine, policy: Policy, source: IO[str], sink: IO[str], batch: int) -> int:
    """Scores `batch` lines at a time so a large file streams; returns how many were scored."""
    pending: list[ScoreRequest] = []
    done = 0
    known = ChunkVectors()
    for request in read_requests(source):
        pending.append(request)
        if len(pending) >= batch:
            done += _flush(engine, policy, pending, sink, known)
    return done + _flush(engine, policy, pending, sink, known)


def _flush(
    engine: Engine, policy: Policy, pending: list[ScoreRequest], sink: IO[str], known: ChunkVectors
) -> int:
    count = len(pending)
    for result in score_requests(engine, policy, pending, known):
        sink.write(json.dumps(result.model_dump()) + "\n")
    sink.flush()
    pending.clear()
    return count
