"""One engine pass over a batch: toxicity and embeddings for comments, chunk vectors for articles.

Pure computation, shared by the worker, `modctl score` and the Perspective endpoint, so all
three compute relevance the same way.
"""

import re
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from services.common.contract import ArticleUpserted
from services.moderation.scoring import Engine, LabelScores, Vectors
from services.moderation.scoring.identity import groups_named
from services.moderation.scoring.relevance import shipped_group_bonus

# all-MiniLM-L6-v2 reads 256 word pieces; 150 words stay inside that for most English prose.
CHUNK_WORDS = 150
# The title plus about 9,000 words: one encoding per article version, so a long article costs
# a few seconds once, and its comments reuse the cached chunk matrix.
MAX_ARTICLE_CHUNKS = 64

ArticleRef = tuple[str, str]  # (tenant, article_id)
K = TypeVar("K", bound=Hashable)
A = TypeVar("A", bound=Hashable)
C = TypeVar("C", bound=Hashable)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Analysis:
    toxicity: LabelScores
    embedding: Vectors


@dataclass(frozen=True)
class EngineRun(Generic[K, A, C]):
    """What one engine pass produced: per comment text, per article, per context text."""

    analyses: dict[K, Analysis]
    articles: dict[A, Vectors] = field(default_factory=dict)  # one unit row per chunk
    contexts: dict[C, Vectors] = field(default_factory=dict)  # embedded only, not scored


def split_paragraph(paragraph: str, words: int = CHUNK_WORDS) -> list[str]:
    """A paragraph in pieces of at most `words` words, cut at sentence ends where possible."""
    pieces: list[str] = []
    current: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph.strip()):
        tokens = sentence.split()
        while len(tokens) > words:  # one sentence longer than a chunk: cut it by words
            if current:
                pieces.append(" ".join(current))
                current = []
            pieces.append(" ".join(tokens[:words]))
            tokens = tokens[words:]
        if current and len(current) + len(tokens) > words:
            pieces.append(" ".join(current))
            current = []
        current.extend(tokens)
    if current:
        pieces.append(" ".join(current))
    return pieces


def text_chunks(title: str | None, body: str) -> list[str]:
    """The title, then each paragraph (long ones split): the units a comment can be about."""
    chunks = [title.strip()] if title and title.strip() else []
    for line in body.splitlines():
        if line.strip():
            chunks.extend(split_paragraph(line))
    return chunks[:MAX_ARTICLE_CHUNKS]


def article_chunks(article: ArticleUpserted) -> list[str]:
    return text_chunks(article.title, article.body)


def cosine(embedding: Vectors, article_vector: Vectors) -> float:
    """Both are unit length, so the dot product is the cosine."""
    return round(float(np.dot(embedding, article_vector)), 4)


def mean_direction(vectors: Vectors) -> Vectors:
    """The unit-length mean of unit vectors: one vector for a text given in several chunks."""
    mean = vectors.mean(axis=0)
    unit: Vectors = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
    return unit


def best_chunk(embedding: Vectors, chunks: Vectors) -> float:
    """The cosine to the chunk the comment is closest to: a comment about one paragraph of a
    long, many-topic article is on topic even when the article's average is elsewhere."""
    return float(np.max(np.asarray(chunks, dtype=np.float32) @ embedding))


# Replies that react to the comment above them rather than say something of their own. A reply
# close to one of these takes its parent's topic; one that is not (an advert posted as a reply)
# is judged on its own words.
REACTIONS = (
    "I agree.",
    "Exactly.",
    "Well said.",
    "So true.",
    "Good point.",
    "You're right.",
    "Couldn't agree more.",
    "Yes.",
    "This.",
    "Thank you.",
    "Interesting.",
    "I disagree.",
    "No.",
    "That's not true.",
    "You're wrong.",
    "Nonsense.",
    "Source?",
    "Why?",
    "Really?",
    "lol",
)
# Measured with all-MiniLM-L6-v2: reactions ("Agreed, well said.", "Nope.") are 0.6-1.0 from
# the nearest of REACTIONS, off-topic statements ("Follow me on instagram") below 0.25.
_REACTION_NONE, _REACTION_FULL = 0.25, 0.5
_reaction_vectors: dict[tuple[str, str], Vectors] = {}


def reaction_vectors(engine: Engine) -> Vectors:
    """REACTIONS embedded by the engine, once per process and model."""
    key = (engine.name, engine.model_version)
    if key not in _reaction_vectors:
        _reaction_vectors[key] = engine.embed(list(REACTIONS))
    return _reaction_vectors[key]


def reaction_weight(embedding: Vectors, reactions: Vectors) -> float:
    """0 for a reply that says something of its own, 1 for one that only reacts."""
    closeness = float(np.max(reactions @ embedding))
    share = (closeness - _REACTION_NONE) / (_REACTION_FULL - _REACTION_NONE)
    return min(max(share, 0.0), 1.0)


def article_groups(chunks: Sequence[str]) -> frozenset[str]:
    """The identity groups an article's chunks name (scoring/identity.py)."""
    return groups_named("\n".join(chunks))


def shared_groups(comment: str, article: frozenset[str]) -> int:
    """How many identity groups the comment names that its article names too. The comment's
    embedding reads every group as one neutral word, so that naming a group moves no toxicity
    score; relevance counts them here instead (a comment on "Muslim voters" that names
    Muslims is about the article)."""
    return len(groups_named(comment) & article) if article else 0


def with_groups(score: float, shared: int, bonus: float) -> float:
    """A cosine with `bonus` added per shared identity group, at most 1."""
    return min(score + bonus * shared, 1.0)


def relevance(
    embedding: Vectors,
    chunks: Vectors,
    parent: Vectors | None = None,
    reactions: Vectors | None = None,
    shared: int = 0,
) -> float:
    """Best-chunk cosine to the article, plus the calibrated bonus for each of the `shared`
    identity groups (at most 1). A reply that reacts to its parent ("Agreed.") gets, by how
    much it reads as a reaction, the relevance of the reply read with its parent (the mean
    direction of the two): it is about what it answers. Never lower than its own."""
    score = best_chunk(embedding, chunks)
    if parent is not None:
        if reactions is None:
            raise ValueError("a reply's relevance needs the reaction vectors")
        thread = best_chunk(
            mean_direction(np.stack([embedding, parent.astype(np.float32)])), chunks
        )
        score += reaction_weight(embedding, reactions) * max(0.0, thread - score)
    return round(with_groups(score, shared, shipped_group_bonus()), 4)


class ChunkVectors:
    """Article chunks' embeddings kept across calls, least recently used dropped first, so
    `modctl score` and the Perspective endpoint embed an article once instead of once per
    batch of its comments (the worker keeps its own per article version)."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._known: OrderedDict[tuple[str, str], Vectors] = OrderedDict()

    def matrices(self, engine: Engine, chunk_lists: list[list[str]]) -> list[Vectors]:
        """One matrix per list, a unit row per chunk."""
        version = engine.model_version
        wanted = dict.fromkeys((version, c) for chunks in chunk_lists for c in chunks)
        missing = [key for key in wanted if key not in self._known]
        if missing:
            vectors = engine.embed_articles([chunk for _, chunk in missing])
            self._known.update(zip(missing, vectors, strict=True))
        for key in wanted:
            self._known.move_to_end(key)
        found = [np.stack([self._known[(version, c)] for c in chunks]) for chunks in chunk_lists]
        while len(self._known) > max(self._size, len(wanted)):
            self._known.popitem(last=False)
        return found


def run_engine(
    engine: Engine,
    texts: dict[K, str],
    articles: dict[A, list[str]],
    contexts: dict[C, str] | None = None,
) -> EngineRun[K, A, C]:
    """One score call for the comments, one embedding call for comments and context texts
    (parents of replies whose embedding is not cached), one for article chunks."""
    contexts = contexts or {}
    keys, bodies = list(texts), list(texts.values())
    scores = engine.score_batch(bodies)
    vectors = engine.embed(bodies + list(contexts.values()))
    analyses = {
        k: Analysis(s, vectors[i]) for i, (k, s) in enumerate(zip(keys, scores, strict=True))
    }
    found = {ref: vectors[len(bodies) + i] for i, ref in enumerate(contexts)}
    chunk_lists = list(articles.values())
    chunk_vectors = engine.embed_articles([chunk for chunks in chunk_lists for chunk in chunks])
    matrices: dict[A, Vectors] = {}
    start = 0
    for ref, chunks in zip(articles, chunk_lists, strict=True):
        matrices[ref] = chunk_vectors[start : start + len(chunks)]
        start += len(chunks)
    return EngineRun(analyses, matrices, found)
