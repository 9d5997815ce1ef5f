"""The moderators' decisions kept as a tenant's labelled data: with the machine's scores and
verdict of the time, once per decision, per tenant, rebuilt like every view."""

import asyncio
import json
from pathlib import Path

import pytest
from redis.asyncio import Redis

from services.common import redis_keys
from services.common.contract import Reason, Verdict
from services.modctl.cli import main
from services.publisher.labels import moderator_decisions
from services.publisher.views import CommentViews
from tests.conftest import unique
from tests.publisher.test_views import verdict


async def test_a_moderator_verdict_is_kept_with_the_machines_scores_once(redis: Redis) -> None:
    tenant, other = unique("tenant"), unique("tenant")
    views = CommentViews(redis)
    held = verdict(tenant, "a-1", Verdict.REVIEW)
    rejected = verdict(
        tenant, "a-1", Verdict.REJECTED, comment=held, later_by=5.0, decided_by="ann"
    ).model_copy(update={"reasons": [Reason(code="moderator", label="violence")]})
    machine_only = verdict(tenant, "a-1", Verdict.APPROVED)
    for event in (held, rejected, rejected, machine_only, verdict(other, "a-2")):
        await views.apply(event, released_at=event.decided_at)

    (row,) = await moderator_decisions(redis, tenant)
    assert row.comment_id == held.comment_id
    assert row.text == held.comment.body
    assert (row.verdict, row.category, row.decided_by) == (Verdict.REJECTED, "violence", "ann")
    assert row.machine_verdict is Verdict.REVIEW
    assert row.scores == held.scores
    assert row.model_version == held.model_version
    assert await moderator_decisions(redis, other) == []

    # A view like the others: from nothing, the same verdicts in give the same labels out.
    await redis.delete(redis_keys.decisions(tenant), redis_keys.comment(tenant, held.comment_id))
    await redis.delete(redis_keys.history(tenant, held.comment_id))
    for event in (held, rejected):
        await views.apply(event, released_at=event.decided_at)
    assert await moderator_decisions(redis, tenant) == [row]


async def test_a_released_comment_taken_down_later_is_a_decision_too(redis: Redis) -> None:
    tenant = unique("tenant")
    views = CommentViews(redis)
    released = verdict(tenant, "a-1", Verdict.APPROVED)
    taken_down = verdict(
        tenant, "a-1", Verdict.REJECTED, comment=released, later_by=60.0, decided_by="bo"
    )
    for event in (released, taken_down):
        await views.apply(event, released_at=event.decided_at)
    (row,) = await moderator_decisions(redis, tenant)
    assert (row.machine_verdict, row.verdict) == (Verdict.APPROVED, Verdict.REJECTED)


def test_modctl_exports_the_decisions_as_jsonl(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = unique("tenant")
    held = verdict(tenant, "a-1", Verdict.REVIEW)
    approved = verdict(tenant, "a-1", Verdict.APPROVED, comment=held, later_by=2.0, decided_by="c")

    async def apply() -> None:  # modctl runs its own event loop: this test has none
        async with Redis.from_url(redis_url) as redis:
            views = CommentViews(redis)
            for event in (held, approved):
                await views.apply(event, released_at=event.decided_at)

    asyncio.run(apply())
    monkeypatch.setenv("REDIS_URL", redis_url)
    output = tmp_path / "decisions.jsonl"
    assert main(["decisions", "export", tenant, "--output", str(output)]) == 0
    (line,) = output.read_text(encoding="utf-8").splitlines()
    exported = json.loads(line)
    assert exported["verdict"] == "approved"
    assert exported["machine_verdict"] == "review"
    assert exported["scores"]["toxicity"] == held.scores.toxicity
