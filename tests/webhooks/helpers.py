"""Events for webhook tests, the configuration call, and waiting for a condition."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from services.common.contract import (
    CommentModerated,
    FeedPublished,
    Scores,
    Topic,
    Verdict,
    message_key,
)
from services.common.settings import KafkaSettings
from services.modctl.testbed.processes import mint_key
from tests.conftest import make_comment
from tests.kafka_helpers import produce

T = TypeVar("T")


async def api_key(redis_url: str, tenant: str) -> str:
    return mint_key(redis_url, tenant)


def verdict(tenant: str, body: str = "A fair point about the budget.") -> CommentModerated:
    comment = make_comment(tenant, "article-1", body)
    return CommentModerated(
        tenant_id=tenant,
        article_id=comment.article_id,
        comment_id=comment.comment_id,
        verdict=Verdict.APPROVED,
        scores=Scores(toxicity={"toxicity": 0.01}, relevance=0.5),
        engine="embedded",
        model_version="test",
        submitted_at=comment.submitted_at,
        latency_ms=12.0,
        comment=comment,
    )


async def publish(kafka: KafkaSettings, *events: CommentModerated | FeedPublished) -> None:
    for event in events:
        topic = (
            Topic.COMMENTS_MODERATED
            if isinstance(event, CommentModerated)
            else Topic.FEED_PUBLISHED
        )
        await produce(kafka, topic, [(message_key(event), event.model_dump_json().encode())])


async def configure(
    url: str, key: str, endpoint: str, secrets: list[str], events: list[str] | None = None
) -> None:
    config = {"url": endpoint, "events": events or ["verdict"], "secrets": secrets}
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.put(
            "/v1/webhooks", json={"endpoints": [config]}, headers={"X-Api-Key": key}
        )
    assert response.status_code == 200, response.text


async def deliveries(url: str, key: str, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url) as http:
        return await http.get(
            "/v1/webhooks/deliveries", params=params, headers={"Authorization": f"Bearer {key}"}
        )


async def eventually(
    check: Callable[[], Awaitable[T | None]], seconds: float = 30.0, what: str = "condition"
) -> T:
    """Poll `check` until it returns something other than None."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = await check()
        if result is not None:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


async def delivery_with(url: str, key: str, event_id: str, status: str) -> dict[str, Any]:
    """The tenant's delivery of `event_id` once its status is `status`."""

    async def check() -> dict[str, Any] | None:
        response = await deliveries(url, key)
        assert response.status_code == 200, response.text
        for found in response.json()["deliveries"]:
            if found["event_id"] == event_id and found["status"] == status:
                return found  # type: ignore[no-any-return]
        return None

    return await eventually(check, what=f"a {status} delivery of {event_id}")
