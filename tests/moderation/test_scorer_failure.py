"""The real worker on the real Kafka and Redis: a comment the scorer fails on is retried, then
dead-lettered, and the rest of its batch is moderated."""

import json
from collections.abc import Sequence

import pytest

from services.common.contract import CommentModerated, Topic
from services.common.settings import KafkaSettings, RedisSettings
from services.common.topics import ensure_topics
from services.modctl.testbed.stream import read_until
from services.moderation.app import create_app
from services.moderation.scoring import Engine, LabelScores, Vectors
from services.moderation.settings import ModerationSettings
from tests.conftest import make_comment, unique
from tests.kafka_helpers import produce

pytestmark = pytest.mark.kafka


class ExplodingEngine:
    """The real engine, except that it fails on any batch holding the word EXPLODE."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.name = engine.name
        self.model_version = engine.model_version

    def score_batch(self, texts: Sequence[str]) -> list[LabelScores]:
        if any("EXPLODE" in t for t in texts):
            raise RuntimeError("the model cannot read this")
        return self._engine.score_batch(texts)

    def embed(self, texts: Sequence[str]) -> Vectors:
        return self._engine.embed(texts)

    def embed_articles(self, texts: Sequence[str]) -> Vectors:
        return self._engine.embed_articles(texts)


async def test_one_failing_comment_does_not_fail_its_batch(
    kafka_settings: KafkaSettings, redis_settings: RedisSettings, engine: Engine
) -> None:
    # Topics and a consumer group of this test's own: the session's worker must not take them.
    kafka = KafkaSettings(
        bootstrap_servers=kafka_settings.bootstrap_servers,
        namespace=f"{kafka_settings.namespace}{unique('scorer')}.",
    )
    await ensure_topics(kafka)
    tenant = unique("t")
    good = [make_comment(tenant, "a", f"A calm remark number {i}.") for i in range(5)]
    bad = make_comment(tenant, "a", "Please EXPLODE here.")
    batch = [*good[:2], bad, *good[2:]]
    app = create_app(
        ModerationSettings(kafka=kafka, redis=redis_settings), engine=ExplodingEngine(engine)
    )
    async with app.router.lifespan_context(app):
        await produce(
            kafka,
            Topic.COMMENTS_SUBMITTED,
            [(c.comment_id.encode(), c.model_dump_json().encode()) for c in batch],
        )
        wanted = {c.comment_id.encode() for c in good}
        moderated = await read_until(
            kafka, Topic.COMMENTS_MODERATED, lambda vs: all(any(w in v for v in vs) for w in wanted)
        )
        dead = await read_until(
            kafka, Topic.COMMENTS_DLQ, lambda vs: any(bad.comment_id.encode() in v for v in vs)
        )
    verdicts = {CommentModerated.model_validate_json(v).comment_id for v in moderated}
    assert verdicts == {c.comment_id for c in good}
    assert [json.loads(v)["comment_id"] for v in dead] == [bad.comment_id]
