"""Ingest against the real Kafka: what is accepted is published, what is refused is not."""

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from services.common.contract import CommentSubmitted, Topic
from services.common.settings import KafkaSettings, RedisSettings
from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from tests.conftest import key_headers, unique
from tests.kafka_helpers import read_until

pytestmark = pytest.mark.kafka


@pytest.fixture
async def client(
    kafka_settings: KafkaSettings, redis_settings: RedisSettings, tenant: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a key of `tenant`."""
    settings = IngestSettings(kafka=kafka_settings, redis=redis_settings, max_request_bytes=200_000)
    app = create_app(settings)
    headers = key_headers(redis_settings.url, tenant)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://ingest", headers=headers
        ) as client:
            yield client


def comment(**fields: object) -> dict[str, object]:
    return {
        "article_id": "a-1",
        "author": {"id": "u-1", "display_name": "Ann"},
        "body": "Fair point about defence budgets.",
        **fields,
    }


async def post(client: httpx.AsyncClient, tenant: str, payload: object) -> httpx.Response:
    """As `tenant`, the client's key's tenant."""
    return await client.post("/v1/comments", json=payload)


def fields(response: httpx.Response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


async def test_missing_body_is_refused_naming_the_field(
    client: httpx.AsyncClient, tenant: str
) -> None:
    payload = comment()
    del payload["body"]
    response = await post(client, tenant, payload)
    assert response.status_code == 422
    assert fields(response) == ["body"]


async def test_wrong_type_is_refused_naming_the_field(
    client: httpx.AsyncClient, tenant: str
) -> None:
    response = await post(client, tenant, comment(author="Ann"))
    assert response.status_code == 422
    assert fields(response) == ["author"]


async def test_body_over_the_limit_is_refused_not_cut(
    client: httpx.AsyncClient, tenant: str
) -> None:
    response = await post(client, tenant, comment(body="x" * 10_001))
    assert response.status_code == 422
    assert fields(response) == ["body"]
    assert "at most 10000" in response.json()["message"]


async def test_oversized_request_is_refused_with_413(
    client: httpx.AsyncClient, tenant: str
) -> None:
    batch = {"comments": [comment(body="y" * 9_000) for _ in range(30)]}
    response = await post(client, tenant, batch)
    assert response.status_code == 413
    assert "larger than 200000 bytes" in response.json()["message"]


async def test_not_json_is_refused(client: httpx.AsyncClient, tenant: str) -> None:
    response = await client.post(
        "/v1/comments",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422


async def test_batch_with_one_bad_comment_publishes_none_of_it(
    client: httpx.AsyncClient, tenant: str, kafka_settings: KafkaSettings
) -> None:
    bad_batch = {"comments": [comment(comment_id=unique("ok")), comment(body="")]}
    response = await post(client, tenant, bad_batch)
    assert response.status_code == 422
    assert fields(response) == ["comments.1.body"]
    for payload in (comment(body=""), comment(author={"id": "bad id!", "display_name": "x"})):
        assert (await post(client, tenant, payload)).status_code == 422

    marker = unique("marker")
    accepted = await post(client, tenant, comment(comment_id=marker))
    assert accepted.status_code == 202
    values = await read_until(
        kafka_settings, Topic.COMMENTS_SUBMITTED, lambda vs: any(marker.encode() in v for v in vs)
    )
    mine = [CommentSubmitted.model_validate_json(v) for v in values if tenant.encode() in v]
    assert [c.comment_id for c in mine] == [marker]


async def test_batch_is_accepted_in_order_and_published(
    client: httpx.AsyncClient, tenant: str, kafka_settings: KafkaSettings
) -> None:
    ids = [unique("c") for _ in range(3)]
    response = await post(client, tenant, {"comments": [comment(comment_id=i) for i in ids]})
    assert response.status_code == 202
    assert response.json() == {"tenant_id": tenant, "accepted": ids}

    def all_seen(values: list[bytes]) -> bool:
        return all(any(i.encode() in v for v in values) for i in ids)

    values = await read_until(kafka_settings, Topic.COMMENTS_SUBMITTED, all_seen)
    mine = [json.loads(v) for v in values if tenant.encode() in v]
    assert sorted(c["comment_id"] for c in mine) == sorted(ids)
    assert {c["tenant_id"] for c in mine} == {tenant}


async def test_article_is_published_and_readable_by_the_worker(
    client: httpx.AsyncClient, tenant: str, kafka_settings: KafkaSettings
) -> None:
    article_id = unique("a")
    response = await client.put(
        f"/v1/articles/{article_id}",
        json={"title": "Budget vote", "body": "Parliament voted."},
    )
    assert response.status_code == 202
    values = await read_until(
        kafka_settings, Topic.ARTICLES, lambda vs: any(article_id.encode() in v for v in vs)
    )
    assert any(article_id.encode() in v and tenant.encode() in v for v in values)


async def test_article_without_title_is_refused(client: httpx.AsyncClient, tenant: str) -> None:
    response = await client.put("/v1/articles/a-2", json={"body": "text"})
    assert response.status_code == 422
    assert fields(response) == ["title"]
