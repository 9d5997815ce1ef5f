"""One engine pass over a batch: toxicity and embeddings for comments, vectors for articles.

Pure computation, shared by the worker and `modctl score`.
"""

from collections.abc import Hashable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from services.common.contract import ArticleUpserted
from services.moderation.scoring import Engine, LabelScores, Vectors

MAX_ARTICLE_CHUNKS = 24

ArticleRef = tuple[str, str]  # (tenant, article_id)
K = TypeVar("K", bound=Hashable)
A = TypeVar("A", bound=Hashable)


@dataclass(frozen=True)
class Analysis:
    toxicity: LabelScores
    embedding: Vectors


def article_chunks(article: ArticleUpserted) -> list[str]:
    """The title and each paragraph: averaging their embeddings keeps long articles on topic."""
    paragraphs = [line.strip() for line in article.body.splitlines() if line.strip()]
    return [article.title, *paragraphs][:MAX_ARTICLE_CHUNKS]


def cosine(embedding: Vectors, article_vector: Vectors) -> float:
    """Both are unit length, so the dot product is the cosine."""
    return round(float(np.dot(embedding, article_vector)), 4)


def mean_direction(vectors: Vectors) -> Vectors:
    """The unit-length mean of unit vectors: one vector for a text given in several chunks."""
    mean = vectors.mean(axis=0)
    unit: Vectors = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
    return unit


def run_engine(
    engine: Engine, texts: dict[K, str], articles: dict[A, list[str]]
) -> tuple[dict[K, Analysis], dict[A, Vectors]]:
    """One pass of the engine for the batch: comment scores, then one embedding call for all."""
    digests, bodies = list(texts), list(texts.values())
    scores = engine.score_batch(bodies)
    chunk_lists = list(articles.values())
    vectors = engine.embed(bodies + [chunk for chunks in chunk_lists for chunk in chunks])
    analyses = {
        d: Analysis(s, vectors[i]) for i, (d, s) in enumerate(zip(digests, scores, strict=True))
    }
    article_vectors: dict[A, Vectors] = {}
    start = len(bodies)
    for ref, chunks in zip(articles, chunk_lists, strict=True):
        article_vectors[ref] = mean_direction(vectors[start : start + len(chunks)])
        start += len(chunks)
    return analyses, article_vectors
