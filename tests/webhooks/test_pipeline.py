"""End to end: a comment posted to ingest reaches the tenant's endpoint as a verdict and, once
released, as a release."""

import json

import httpx
import pytest

from tests.conftest import unique
from tests.processes import System
from tests.webhooks.conftest import StartWebhooks
from tests.webhooks.helpers import api_key, configure, eventually
from tests.webhooks.receiver import Received, receiving

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


async def test_a_posted_comment_reaches_the_endpoint_as_verdict_and_release(
    system: System, start_webhooks: StartWebhooks, redis_url: str, tenant: str
) -> None:
    service = start_webhooks()
    key = await api_key(redis_url, tenant)
    comment_id = unique("c")
    with receiving() as receiver:
        await configure(
            service.url, key, receiver.url, ["pipeline-secret-0123456789"], ["verdict", "released"]
        )
        async with httpx.AsyncClient(base_url=system.ingest.url) as http:
            response = await http.post(
                "/v1/comments",
                headers={"Authorization": f"Bearer {key}"},
                json={
                    "article_id": unique("article"),
                    "comment_id": comment_id,
                    "author": {"id": "u-1", "display_name": "Ann"},
                    "body": "Good to see the library funding restored.",
                },
            )
        assert response.status_code == 202, response.text

        async def both() -> dict[str, Received] | None:
            by_type = {r.headers["X-Moderation-Event"]: r for r in receiver.succeeded()}
            return by_type if set(by_type) == {"verdict", "released"} else None

        received = await eventually(both, seconds=60, what="a verdict and a release")
    verdict = json.loads(received["verdict"].body)["data"]
    released = json.loads(received["released"].body)["data"]
    assert verdict["comment_id"] == released["comment_id"] == comment_id
    assert verdict["verdict"] == "approved"
