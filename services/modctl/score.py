"""`modctl score`: JSONL in, JSONL out, offline; the worker's engine, analysis and policy."""

import json
from collections.abc import Iterator
from typing import IO

from pydantic import BaseModel, Field, ValidationError

from services.common.consume import describe
from services.moderation.analysis import cosine, run_engine
from services.moderation.policy import Policy, decide
from services.moderation.scoring import Engine


class ScoreRequest(BaseModel):
    id: str
    text: str
    article_text: str | None = None


class ScoreResult(BaseModel):
    id: str
    toxicity: dict[str, float]
    relevance: float | None
    verdict: str
    reasons: list[dict[str, object]] = Field(default_factory=list)


def score_requests(
    engine: Engine, policy: Policy, requests: list[ScoreRequest]
) -> list[ScoreResult]:
    texts = {i: r.text for i, r in enumerate(requests)}
    articles = {
        i: [p.strip() for p in r.article_text.splitlines() if p.strip()]
        for i, r in enumerate(requests)
        if r.article_text and r.article_text.strip()
    }
    analyses, vectors = run_engine(engine, texts, articles)
    results = []
    for i, request in enumerate(requests):
        analysis = analyses[i]
        relevance = cosine(analysis.embedding, vectors[i]) if i in vectors else None
        verdict, reasons = decide(policy, analysis.toxicity, relevance, request.text)
        results.append(
            ScoreResult(
                id=request.id,
                toxicity=analysis.toxicity,
                relevance=relevance,
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
    for request in read_requests(source):
        pending.append(request)
        if len(pending) >= batch:
            done += _flush(engine, policy, pending, sink)
    return done + _flush(engine, policy, pending, sink)


def _flush(engine: Engine, policy: Policy, pending: list[ScoreRequest], sink: IO[str]) -> int:
    count = len(pending)
    for result in score_requests(engine, policy, pending):
        sink.write(json.dumps(result.model_dump()) + "\n")
    sink.flush()
    pending.clear()
    return count
