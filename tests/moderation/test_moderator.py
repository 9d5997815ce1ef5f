"""The moderator against a real Redis and the real embedded engine."""

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest
from redis.asyncio import Redis

from services.common.articles import ArticleStore
from services.common.contract import ArticleUpserted, Verdict
from services.modctl.seed import parse_seed
from services.moderation.moderator import Moderator
from services.moderation.policy import Policy
from tests.conftest import make_comment, unique
from tests.moderation.recording import RecordingEngine

DEMO = parse_seed(
    (Path(__file__).parents[2] / "examples/demo/000_c2484b3214b686ee.txt").read_text("utf-8")
)


@pytest.fixture
async def article(redis: Redis, tenant: str) -> ArticleUpserted:
    article = ArticleUpserted(
        tenant_id=tenant, article_id=unique("a"), title=DEMO.title, body="\n".join(DEMO.paragraphs)
    )
    await ArticleStore(redis).upsert(article)
    return article


async def test_demo_comments_are_approved_as_relevant(
    moderator: Moderator, article: ArticleUpserted
) -> None:
    comments = [make_comment(article.tenant_id, article.article_id, c.body) for c in DEMO.comments]
    decisions = await moderator.moderate(comments)
    assert [d.verdict for d in decisions] == [Verdict.APPROVED] * len(comments)
    for d in decisions:
        assert d.scores.relevance is not None
        assert d.scores.relevance > Policy().relevance_floor


async def test_off_topic_comment_is_held_with_a_relevance_reason(
    moderator: Moderator, article: ArticleUpserted
) -> None:
    spam = make_comment(
        article.tenant_id, article.article_id, "Check out my channel for free bitcoin"
    )
    (decision,) = await moderator.moderate([spam])
    assert decision.verdict is Verdict.REVIEW
    reason = decision.reasons[0]
    assert (reason.code, reason.label) == ("off_topic", "relevance")
    assert reason.score is not None
    assert reason.threshold is not None
    assert reason.score < reason.threshold


async def test_abusive_comment_is_rejected_with_label_and_score(
    moderator: Moderator, article: ArticleUpserted
) -> None:
    body = "Hegseth and NATO? You stupid idiot, shut your mouth"
    (decision,) = await moderator.moderate(
        [make_comment(article.tenant_id, article.article_id, body)]
    )
    assert decision.verdict is Verdict.REJECTED
    reason = decision.reasons[0]
    assert reason.code == "toxicity"
    assert reason.label == "toxicity"
    assert reason.score == decision.scores.toxicity["toxicity"]
    assert reason.threshold is not None
    assert reason.score >= reason.threshold


async def test_comment_on_unknown_article_is_moderated_without_relevance(
    moderator: Moderator, tenant: str
) -> None:
    comment = make_comment(tenant, unique("never-seen"), "Check out my channel for free bitcoin")
    (decision,) = await moderator.moderate([comment])
    assert decision.scores.relevance is None
    assert decision.verdict is Verdict.APPROVED


async def test_redelivered_comment_gets_the_same_verdict_without_inference(
    moderator: Moderator, counting: RecordingEngine, article: ArticleUpserted
) -> None:
    comment = make_comment(article.tenant_id, article.article_id, "Europe should pay its share.")
    (first,) = await moderator.moderate([comment])
    (again,) = await moderator.moderate([comment])
    assert again == first
    assert counting.scored == [comment.body]


async def test_a_text_two_batches_bring_at_once_is_scored_once(
    moderator: Moderator, counting: RecordingEngine, article: ArticleUpserted
) -> None:
    shared = f"Copy-paste wave about the budget {unique('w')}"
    first = [make_comment(article.tenant_id, article.article_id, t) for t in (shared, "One.")]
    second = [make_comment(article.tenant_id, article.article_id, t) for t in (shared, "Two.")]
    a, b = await asyncio.gather(moderator.moderate(first), moderator.moderate(second))
    assert counting.scored.count(shared) == 1
    assert sorted(counting.scored) == sorted([shared, "One.", "Two."])
    assert a[0].scores == b[0].scores


async def test_a_batch_whose_shared_text_failed_elsewhere_scores_it_itself(
    moderator: Moderator, counting: RecordingEngine, article: ArticleUpserted
) -> None:
    shared = f"Another wave {unique('f')}"
    failing = {"armed": True}
    score = counting.score_batch

    def fail_once(texts: Sequence[str]) -> list[dict[str, float]]:
        if failing.pop("armed", False):
            raise RuntimeError("inference failed")
        return score(texts)

    counting.score_batch = fail_once  # type: ignore[method-assign]
    first = [make_comment(article.tenant_id, article.article_id, shared)]
    second = [make_comment(article.tenant_id, article.article_id, shared)]
    a, b = await asyncio.gather(
        moderator.moderate(first), moderator.moderate(second), return_exceptions=True
    )
    assert isinstance(a, RuntimeError)
    assert not isinstance(b, BaseException)
    assert b[0].scores.toxicity


async def test_repeated_text_is_scored_once(
    moderator: Moderator, counting: RecordingEngine, article: ArticleUpserted
) -> None:
    body = f"Buy cheap watches at example.com {unique('x')}"
    wave = [make_comment(article.tenant_id, article.article_id, body) for _ in range(5)]
    await moderator.moderate(wave[:2])
    decisions = await moderator.moderate(
        [*wave[2:], make_comment(article.tenant_id, article.article_id, body.upper())]
    )
    assert len({d.comment_id for d in decisions}) == 4
    assert counting.scored == [body]
