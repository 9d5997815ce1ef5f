"""The per-author comment rate (a policy rule over a Redis token bucket): a flood from one
author is held or rejected, never refused, and spends nothing of another tenant's authors."""

import time
from collections import Counter

from redis.asyncio import Redis

from services.common.contract import Author, CommentModerated, CommentSubmitted, Verdict
from services.moderation.moderator import Moderator
from services.moderation.policy import Policy, RateAction
from services.moderation.policy_store import TENANT_SCOPE, PolicyStore
from tests.conftest import unique

FLOOD, RATE = 40, 5  # the moderator fixture: tests/moderation/conftest.py


def comments(tenant: str, author: str, count: int) -> list[CommentSubmitted]:
    return [
        CommentSubmitted(
            tenant_id=tenant,
            article_id="a-1",
            comment_id=unique("c"),
            author=Author(id=author, display_name="Reader"),
            body=f"Point {i}: the library budget deserves a second look ({unique('n')}).",
        )
        for i in range(count)
    ]


def rate_reasons(decisions: list[CommentModerated]) -> Counter[str]:
    return Counter(
        d.verdict.value if any(r.code == "author_rate" for r in d.reasons) else "passed"
        for d in decisions
    )


async def test_one_authors_flood_is_held_and_other_tenants_pass(
    moderator: Moderator, redis: Redis
) -> None:
    flooded, other = unique("site-a"), unique("site-b")
    policies = PolicyStore(redis, Policy())
    for tenant in (flooded, other):
        await policies.put(tenant, TENANT_SCOPE, Policy(author_rate_per_minute=RATE), "test")
    # The same author id on both sites: the buckets are per tenant.
    flood = comments(flooded, "spammer", FLOOD)
    calm = comments(other, "spammer", RATE) + comments(other, "reader", RATE)
    batches = [flood[i : i + 8] + calm[i // 8 :: 5] for i in range(0, FLOOD, 8)]
    began = time.monotonic()
    decided = [d for batch in batches for d in await moderator.moderate(batch)]
    # The bucket refills one token every 60/RATE seconds while the engine works.
    refilled = int((time.monotonic() - began) * RATE / 60)

    mine = [d for d in decided if d.tenant_id == flooded]
    assert len(mine) == FLOOD
    outcomes = rate_reasons(mine)
    assert RATE <= outcomes["passed"] <= RATE + refilled
    assert outcomes["review"] == FLOOD - outcomes["passed"]
    assert all(d.verdict is Verdict.APPROVED for d in mine[:RATE])
    held = next(d for d in mine if d.verdict is Verdict.REVIEW)
    assert held.reasons[0].code == "author_rate"
    assert held.reasons[0].threshold == RATE

    theirs = {d.comment_id: d for d in decided if d.tenant_id == other}
    assert set(theirs) == {c.comment_id for c in calm}
    assert rate_reasons(list(theirs.values())) == {"passed": 2 * RATE}
    assert {d.verdict for d in theirs.values()} == {Verdict.APPROVED}


async def test_flood_may_be_rejected_and_redelivery_spends_no_token(
    moderator: Moderator, redis: Redis
) -> None:
    tenant = unique("site")
    policy = Policy(author_rate_per_minute=2, author_rate_action=RateAction.REJECT)
    await PolicyStore(redis, Policy()).put(tenant, TENANT_SCOPE, policy, "test")
    flood = comments(tenant, "spammer", 4)
    first = await moderator.moderate(flood)
    assert [d.verdict for d in first] == [Verdict.APPROVED] * 2 + [Verdict.REJECTED] * 2
    again = await moderator.moderate(flood[:2])  # redelivered: the decision cache answers
    assert [d.verdict for d in again] == [Verdict.APPROVED] * 2


async def test_without_a_rate_nothing_is_limited(moderator: Moderator) -> None:
    decided = await moderator.moderate(comments(unique("site"), "prolific", 30))
    assert rate_reasons(decided) == {"passed": 30}
