"""A moderation worker killed in the middle of a stream loses nothing and releases nothing twice."""

import asyncio
import signal

import httpx
import pytest

from services.common.contract import FeedPublished, Topic
from tests.conftest import unique
from tests.kafka_helpers import read_until
from tests.processes import System, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]
TOTAL = 200


def post_batch(system: System, tenant: str, article_id: str, ids: list[str]) -> None:
    comments = [
        {
            "article_id": article_id,
            "comment_id": i,
            "author": {"id": "r", "display_name": "R"},
            "body": f"Defence spending comment number {i}: allies should share the burden.",
        }
        for i in ids
    ]
    response = httpx.post(
        f"{system.ingest.url}/v1/comments",
        json={"comments": comments},
        headers=system.headers(tenant),
        timeout=30,
    )
    assert response.status_code == 202, response.text


def released(system: System, tenant: str, article_id: str) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"tenant": tenant, "limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = httpx.get(
            f"{system.publisher.url}/v1/articles/{article_id}/comments", params=params
        ).json()
        ids += [c["comment_id"] for c in page["comments"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


def test_killed_worker_loses_none_and_releases_none_twice(system: System) -> None:
    tenant, article_id = unique("restart"), unique("a")
    httpx.put(
        f"{system.ingest.url}/v1/articles/{article_id}",
        headers=system.headers(tenant),
        json={"title": "NATO defence spending", "body": "Allies argue over burden sharing."},
    )
    ids = [f"{article_id}-{n:03d}" for n in range(TOTAL)]
    for start in range(0, TOTAL // 2, 20):
        post_batch(system, tenant, article_id, ids[start : start + 20])

    wait_for(
        lambda: True if len(released(system, tenant, article_id)) >= 10 else None,
        what="the worker to be part-way through the stream",
    )
    system.moderation.stop(signal.SIGKILL)
    for start in range(TOTAL // 2, TOTAL, 20):
        post_batch(system, tenant, article_id, ids[start : start + 20])
    system.moderation.start()
    system.moderation.wait_ready()

    feed = wait_for(
        lambda: r if len(r := released(system, tenant, article_id)) >= TOTAL else None,
        timeout=120,
        what=f"{TOTAL} comments in the feed",
    )
    assert sorted(feed) == sorted(ids)

    def every_release_seen(values: list[bytes]) -> bool:
        return len({v for v in values if tenant.encode() in v}) >= TOTAL

    values = asyncio.run(read_until(system.kafka, Topic.FEED_PUBLISHED, every_release_seen))
    announced = [
        FeedPublished.model_validate_json(v).comment_id for v in values if tenant.encode() in v
    ]
    assert sorted(announced) == sorted(ids)  # each exactly once
