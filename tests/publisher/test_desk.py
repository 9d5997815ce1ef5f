"""The desk's pieces against a real Redis: queues, author counts, history, pending decisions,
accounts and sessions."""

import time
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from services.common import redis_keys
from services.common.contract import Reason, Verdict, utc_now
from services.publisher.desk.accounts import AccountStore
from services.publisher.desk.decisions import Action, PendingDecisions, human_verdict
from services.publisher.desk.queue import Desk, Queue, Sort, segments
from services.publisher.desk.sessions import SessionStore
from services.publisher.views import CommentViews
from tests.conftest import unique
from tests.publisher.test_views import verdict


def test_segments_cut_the_body_at_the_spans_first_reason_winning_overlaps() -> None:
    body = "free bitcoin idiot"
    reasons = [
        Reason(code="suspect_word", label="bitcoin", span=(5, 12)),
        Reason(code="banned_word", label="idiot", span=(13, 18)),
        Reason(code="link", span=(8, 15)),  # overlaps: dropped
        Reason(code="toxicity", score=0.6, threshold=0.5),
        Reason(code="link", span=(10, 99)),  # out of range: ignored
    ]
    cut = segments(body, reasons)
    assert [(s.text, s.reason.code if s.reason else None) for s in cut] == [
        ("free ", None),
        ("bitcoin", "suspect_word"),
        (" ", None),
        ("idiot", "banned_word"),
    ]
    assert [s.text for s in segments("", [])] == [""]


async def test_queues_author_counts_and_history_follow_the_latest_verdict(
    redis: Redis, tenant: str
) -> None:
    views, desk = CommentViews(redis), Desk(redis, CommentViews(redis))
    machine = verdict(tenant, "a", Verdict.REVIEW)
    await views.apply(machine, utc_now())
    assert (await desk.counts(tenant))[Queue.HELD] == 1
    human = human_verdict(machine, Action.REJECT, "mod-1", utc_now(), "violence", "threat")
    await views.apply(human, utc_now())
    await views.apply(machine, utc_now())  # a replay: stale, but not recorded twice
    counts = await desk.counts(tenant)
    assert (counts[Queue.HELD], counts[Queue.REJECTED], counts[Queue.APPROVED]) == (0, 1, 0)
    page = await desk.page(tenant, Queue.REJECTED)
    (item,) = page.items
    assert item.author.rejected == 1
    assert item.author.review == 0
    assert item.decision.reasons[0] == Reason(code="moderator", label="violence", detail="threat")
    history = await views.history(tenant, machine.comment_id)
    assert [(h.verdict, h.decided_by) for h in history] == [
        (Verdict.REVIEW, "system"),
        (Verdict.REJECTED, "mod-1"),
    ]


async def test_queue_filters_by_article_and_sorts_by_severity(redis: Redis, tenant: str) -> None:
    views, desk = CommentViews(redis), Desk(redis, CommentViews(redis))
    mild = verdict(tenant, "a1", Verdict.REVIEW)
    worse = verdict(tenant, "a2", Verdict.REVIEW)
    worse = worse.model_copy(
        update={"reasons": [Reason(code="toxicity", label="toxicity", score=0.8, threshold=0.5)]}
    )
    mild = mild.model_copy(update={"reasons": [Reason(code="off_topic", score=0.1, threshold=0.2)]})
    for d in (mild, worse):
        await views.apply(d, utc_now())
    oldest = await desk.page(tenant, Queue.HELD)
    assert [i.decision.comment_id for i in oldest.items] == [mild.comment_id, worse.comment_id]
    severe = await desk.page(tenant, Queue.HELD, sort=Sort.SEVERITY)
    assert [i.decision.comment_id for i in severe.items] == [worse.comment_id, mild.comment_id]
    only = await desk.page(tenant, Queue.HELD, article_id="a2", hide={mild.comment_id})
    assert [i.decision.comment_id for i in only.items] == [worse.comment_id]
    assert sorted(a for a, _ in oldest.articles) == ["a1", "a2"]


async def test_pending_decisions_are_claimed_once_when_due_or_undone(
    redis: Redis, tenant: str
) -> None:
    pending = PendingDecisions(redis)
    now_ms = int(time.time() * 1000)
    decided = [
        human_verdict(verdict(tenant, "a", Verdict.REVIEW), Action.APPROVE, "m", utc_now())
        for _ in range(3)
    ]
    await pending.schedule(decided, now_ms + 5000)
    assert await pending.pending_ids(tenant) == {d.comment_id for d in decided}
    assert await pending.undo(tenant, [decided[0].comment_id, "never-decided"]) == [
        decided[0].comment_id
    ]
    assert await pending.claim(now_ms) == []  # not due yet
    claimed = await pending.claim(now_ms + 5000)
    assert {d.comment_id for d in claimed} == {d.comment_id for d in decided[1:]}
    assert await pending.claim(now_ms + 5000) == []
    assert await pending.undo(tenant, [decided[1].comment_id]) == []  # too late
    assert await pending.pending_ids(tenant) == set()


def test_a_human_verdict_is_a_new_later_event_naming_the_moderator() -> None:
    machine = verdict("t", "a", Verdict.REVIEW)
    later = machine.decided_at + timedelta(seconds=30)
    human = human_verdict(machine, Action.APPROVE, "ann", later, note="fine")
    assert human.event_id != machine.event_id
    assert (human.verdict, human.decided_by, human.decided_at) == (Verdict.APPROVED, "ann", later)
    assert human.reasons == [
        Reason(code="moderator", label="approved", detail="fine"),
        *machine.reasons,
    ]
    assert human.comment == machine.comment


async def test_passwords_are_hashed_and_verified(redis: Redis) -> None:
    accounts = AccountStore(redis)
    name = unique("mod")
    account = await accounts.add(name, "s3cret-enough", ["t1", "t2"])
    assert account.password_hash.startswith("$argon2")
    stored = await redis.get(f"moderator:{name}")
    assert stored is not None
    assert "s3cret-enough" not in redis_keys.as_text(stored)
    assert await accounts.verify(name, "s3cret-enough") == account
    assert await accounts.verify(name, "wrong") is None
    assert await accounts.verify(unique("nobody"), "s3cret-enough") is None
    with pytest.raises(ValueError, match="exists"):
        await accounts.add(name, "another-one", ["t1"])
    with pytest.raises(ValueError, match="at least 8"):
        await accounts.add(unique("mod"), "short", ["t1"])


async def test_sessions_store_only_a_hash_of_the_token(redis: Redis) -> None:
    sessions = SessionStore(redis, ttl_seconds=60)
    token, session = await sessions.create("ann")
    assert await sessions.get(token) == session
    assert not await redis.keys(f"*{token}*")
    await sessions.delete(token)
    assert await sessions.get(token) is None
    assert await sessions.get(None) is None
