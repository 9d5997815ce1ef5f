"""The publisher's Redis views: idempotent, latest verdict wins, feeds page by cursor."""

from datetime import timedelta

import pytest
from redis.asyncio import Redis

from services.common.contract import CommentModerated, Reason, Scores, Verdict, utc_now
from services.publisher.feed import Cursor, read_feed
from services.publisher.views import CommentViews, Outcome
from tests.conftest import make_comment, unique


def verdict(
    tenant: str,
    article_id: str,
    verdict: Verdict = Verdict.APPROVED,
    *,
    comment: CommentModerated | None = None,
    later_by: float = 0.0,
    decided_by: str = "system",
) -> CommentModerated:
    submitted = comment.comment if comment else make_comment(tenant, article_id, "A fair point.")
    return CommentModerated(
        tenant_id=tenant,
        article_id=article_id,
        comment_id=submitted.comment_id,
        verdict=verdict,
        reasons=[]
        if verdict is Verdict.APPROVED
        else [Reason(code="toxicity", label="toxicity", score=0.7, threshold=0.5)],
        scores=Scores(toxicity={"toxicity": 0.1}, relevance=0.5),
        engine="embedded",
        model_version="test",
        decided_by=decided_by,
        decided_at=(comment.decided_at if comment else utc_now()) + timedelta(seconds=later_by),
        submitted_at=submitted.submitted_at,
        latency_ms=1.0,
        comment=submitted,
    )


@pytest.fixture
def views(redis: Redis) -> CommentViews:
    return CommentViews(redis)


async def test_a_verdict_applied_twice_releases_once(
    views: CommentViews, redis: Redis, tenant: str
) -> None:
    decision = verdict(tenant, "a")
    assert await views.apply(decision, utc_now()) is Outcome.RELEASED
    assert await views.apply(decision, utc_now()) is Outcome.DUPLICATE
    page = await read_feed(redis, views, tenant, "a", None, 10)
    assert [s.decision.comment_id for s in page.comments] == [decision.comment_id]


async def test_held_comment_waits_in_review_not_in_feed(
    views: CommentViews, redis: Redis, tenant: str
) -> None:
    decision = verdict(tenant, "a", Verdict.REVIEW)
    assert await views.apply(decision, utc_now()) is Outcome.HELD
    assert await views.review_depth(tenant) == 1
    assert (await read_feed(redis, views, tenant, "a", None, 10)).comments == []


async def test_moderator_verdict_supersedes_the_machine(
    views: CommentViews, redis: Redis, tenant: str
) -> None:
    machine = verdict(tenant, "a", Verdict.REVIEW)
    await views.apply(machine, utc_now())
    human = verdict(tenant, "a", Verdict.APPROVED, comment=machine, later_by=5, decided_by="mod-1")
    assert await views.apply(human, utc_now()) is Outcome.RELEASED
    assert await views.review_depth(tenant) == 0
    # The machine's verdict delivered again later (a replay) does not undo the moderator's.
    assert await views.apply(machine, utc_now()) is Outcome.STALE
    state = await views.state(tenant, machine.comment_id)
    assert state is not None
    assert state.decision.decided_by == "mod-1"
    assert len((await read_feed(redis, views, tenant, "a", None, 10)).comments) == 1


async def test_rejecting_a_released_comment_takes_it_off_the_feed(
    views: CommentViews, redis: Redis, tenant: str
) -> None:
    released = verdict(tenant, "a")
    await views.apply(released, utc_now())
    rejected = verdict(
        tenant, "a", Verdict.REJECTED, comment=released, later_by=1, decided_by="mod-1"
    )
    assert await views.apply(rejected, utc_now()) is Outcome.REJECTED
    assert (await read_feed(redis, views, tenant, "a", None, 10)).comments == []
    state = await views.state(tenant, released.comment_id)
    assert state is not None
    assert state.released_at is None


async def test_feed_pages_oldest_first_by_cursor(
    views: CommentViews, redis: Redis, tenant: str
) -> None:
    article_id = unique("a")
    decisions = [verdict(tenant, article_id) for _ in range(5)]
    for d in reversed(decisions):
        await views.apply(d, utc_now())
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        page = await read_feed(redis, views, tenant, article_id, cursor, 2)
        seen += [s.decision.comment_id for s in page.comments]
        if page.next_cursor is None:
            break
        cursor = Cursor.decode(page.next_cursor)
    assert seen == [d.comment_id for d in decisions]


def test_a_cursor_not_issued_here_is_refused() -> None:
    with pytest.raises(ValueError, match="cursor"):
        Cursor.decode("%%%")


async def test_a_release_is_announced_once_even_when_applied_twice(
    views: CommentViews, tenant: str
) -> None:
    decision = verdict(tenant, "a")
    await views.apply(decision, utc_now())
    assert await views.unannounced([decision]) == [decision]
    await views.mark_announced([decision])
    await views.apply(decision, utc_now())
    assert await views.unannounced([decision]) == []


async def test_a_release_left_unannounced_by_a_crash_is_announced_on_redelivery(
    views: CommentViews, tenant: str
) -> None:
    decision = verdict(tenant, "a")
    await views.apply(decision, utc_now())  # crash here: announced never marked
    assert await views.apply(decision, utc_now()) is Outcome.DUPLICATE
    assert await views.unannounced([decision]) == [decision]


async def test_held_comments_are_never_announced(views: CommentViews, tenant: str) -> None:
    decision = verdict(tenant, "a", Verdict.REVIEW)
    await views.apply(decision, utc_now())
    assert await views.unannounced([decision]) == []
