"""Records that are not events go to the dead-letter topic; the partition keeps moving."""

import asyncio
import json

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from services.common.contract import Topic
from tests.conftest import make_comment, unique
from tests.kafka_helpers import produce
from tests.processes import System, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


async def dead_letters(system: System, keys: set[bytes]) -> dict[bytes, dict[str, str]]:
    """Headers of the dead-lettered records with these keys, once all of them are there."""
    consumer = AIOKafkaConsumer(
        system.kafka.topic(Topic.COMMENTS_DLQ),
        bootstrap_servers=system.kafka.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
    )
    found: dict[bytes, dict[str, str]] = {}
    await consumer.start()
    try:
        async with asyncio.timeout(60):
            while not keys <= found.keys():
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for r in records:
                        if r.key in keys:
                            found[r.key] = {k: v.decode() for k, v in r.headers}
    finally:
        await consumer.stop()
    return found


def test_poison_is_dead_lettered_and_good_comments_still_flow(system: System) -> None:
    tenant = unique("poison")
    good = make_comment(tenant, unique("a"), "A sensible remark about the budget.")
    future = json.loads(make_comment(tenant, "a", "from the future").model_dump_json())
    future["schema_version"] = 99
    poison = {
        unique("p").encode(): b"\x00not json at all",
        unique("p").encode(): json.dumps({"tenant_id": tenant, "body": 5}).encode(),
        unique("p").encode(): json.dumps(future).encode(),
    }
    asyncio.run(
        produce(
            system.kafka,
            Topic.COMMENTS_SUBMITTED,
            [*poison.items(), (good.comment_id.encode(), good.model_dump_json().encode())],
        )
    )

    def verdict() -> dict[str, object] | None:
        response = httpx.get(
            f"{system.publisher.url}/v1/comments/{good.comment_id}",
            headers=system.headers(tenant),
        )
        return dict(response.json()) if response.status_code == 200 else None

    assert wait_for(verdict, what="the good comment's verdict")["status"] == "released"
    headers = asyncio.run(dead_letters(system, set(poison)))
    for key in poison:
        assert headers[key]["dlq.source.topic"] == system.kafka.topic(Topic.COMMENTS_SUBMITTED)
        assert int(headers[key]["dlq.source.offset"]) >= 0
        assert headers[key]["dlq.error"]
    errors = [headers[k]["dlq.error"] for k in poison]
    assert "Invalid JSON" in errors[0]
    assert "schema_version" in errors[2]
    reasons = [headers[k]["dlq.reason"] for k in poison]
    assert reasons == ["invalid_json", "invalid_event", "unknown_schema"]
