"""The moderators' decisions of a tenant as labelled examples: what the site itself decided,
beside what the machine had scored and decided before it.

They are kept by the publisher's views (`redis_keys.decisions`), so replaying
comments.moderated rebuilds them like every other view. A machine verdict that no moderator
changed for a while (released and left standing, or rejected and never reinstated) is the
site's verdict too: `standing_verdicts` reads those from the queues.
"""

from datetime import datetime

from pydantic import BaseModel

from services.common import redis_keys
from services.common.contract import SYSTEM_DECIDER, CommentModerated, Scores, Verdict
from services.common.redis_client import RedisClient
from services.publisher.desk.decisions import moderator_reason
from services.publisher.views import CommentViews


class LabelledDecision(BaseModel):
    """One moderator verdict; `scores` and `model_version` are the machine's of the time."""

    tenant_id: str
    article_id: str
    comment_id: str
    text: str
    verdict: Verdict
    category: str | None  # the moderator's reason (a DSA category, or "approved")
    decided_by: str
    decided_at: datetime
    submitted_at: datetime
    scores: Scores
    engine: str
    model_version: str
    machine_verdict: Verdict | None  # the last machine verdict before it, if any


async def moderator_decisions(redis: RedisClient, tenant: str) -> list[LabelledDecision]:
    """Every moderator verdict of `tenant`, oldest first."""
    raw: list[bytes] = await redis.zrange(redis_keys.decisions(tenant), 0, -1)  # type: ignore[assignment]
    decisions = [CommentModerated.model_validate_json(entry) for entry in raw]
    async with redis.pipeline(transaction=False) as pipe:
        for decision in decisions:
            pipe.zrange(redis_keys.history(tenant, decision.comment_id), 0, -1)
        histories: list[list[bytes]] = await pipe.execute()
    return [
        _labelled(decision, [CommentModerated.model_validate_json(e) for e in history])
        for decision, history in zip(decisions, histories, strict=True)
    ]


def _labelled(decision: CommentModerated, history: list[CommentModerated]) -> LabelledDecision:
    machine = [
        v for v in history if v.decided_by == SYSTEM_DECIDER and v.decided_at <= decision.decided_at
    ]
    own = moderator_reason(decision)
    return LabelledDecision(
        tenant_id=decision.tenant_id,
        article_id=decision.article_id,
        comment_id=decision.comment_id,
        text=decision.comment.body,
        verdict=decision.verdict,
        category=own.label if own else None,
        decided_by=decision.decided_by,
        decided_at=decision.decided_at,
        submitted_at=decision.submitted_at,
        scores=decision.scores,
        engine=decision.engine,
        model_version=decision.model_version,
        machine_verdict=machine[-1].verdict if machine else None,
    )


async def standing_verdicts(
    redis: RedisClient, tenant: str, decided_before: datetime, limit: int
) -> list[LabelledDecision]:
    """Machine verdicts (approved or rejected) decided before `decided_before` that no moderator
    has changed since, of the latest `limit` comments of each queue; oldest first."""
    ids: list[str] = []
    for verdict in (Verdict.APPROVED, Verdict.REJECTED):
        key = redis_keys.queue(tenant, verdict)
        found: list[bytes] = await redis.zrevrange(key, 0, limit - 1)  # type: ignore[assignment]
        ids += [redis_keys.as_text(i) for i in found]
    states = await CommentViews(redis).states(tenant, ids)
    standing = [
        s.decision
        for s in states
        if s is not None
        and s.decision.decided_by == SYSTEM_DECIDER
        and s.decision.decided_at < decided_before
    ]
    labelled = [_labelled(d, [d]) for d in standing]
    return sorted(labelled, key=lambda d: d.decided_at)
