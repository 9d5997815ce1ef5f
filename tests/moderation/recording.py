"""The real engine, recording what the moderator asks of it, for tests of what is cached."""

from collections.abc import Sequence

from services.moderation.moderator import CacheSettings
from services.moderation.scoring import Engine, LabelScores, Vectors

CACHES = CacheSettings(decision_ttl_seconds=600, score_ttl_seconds=600, embedding_ttl_seconds=600)


class RecordingEngine:
    """Delegates to `engine`; `scored` and `embedded` (comments and article chunks) list the
    texts of each call, in order."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.name = engine.name
        self.model_version = engine.model_version
        self.scored: list[str] = []
        self.embedded: list[str] = []

    def score_batch(self, texts: Sequence[str]) -> list[LabelScores]:
        self.scored.extend(texts)
        return self._engine.score_batch(texts)

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.embedded.extend(texts)
        return self._engine.embed(texts)

    def embed_articles(self, texts: Sequence[str]) -> Vectors:
        self.embedded.extend(texts)
        return self._engine.embed_articles(texts)
