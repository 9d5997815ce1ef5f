"""doNotStore: the text reaches no topic, no Redis key and no log line unless the tenant lets
analyzed comments into the pipeline and the call says doNotStore: false; suggestions do reach
feedback.suggested (which shows the observer would have seen it)."""

import asyncio

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from redis.asyncio import Redis

from services.common import redis_keys
from services.common.contract import TOPIC_LAYOUT, CommentModerated, FeedbackSuggested, Topic
from services.common.settings import KafkaSettings
from services.common.tenants import TenantStore
from services.modctl.testbed.processes import mint_key
from tests.conftest import unique
from tests.kafka_helpers import read_until
from tests.processes import ServiceProcess, System, service_env

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


async def every_value(settings: KafkaSettings) -> list[bytes]:
    """Every record now on any of the session's topics, from the start to the end offsets."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(settings.topic(topic), p)
            for topic, layout in TOPIC_LAYOUT.items()
            for p in range(layout.partitions)
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        values: list[bytes] = []
        async with asyncio.timeout(60):
            while any([await consumer.position(tp) < end for tp, end in ends.items()]):
                batches = await consumer.getmany(timeout_ms=200)
                values.extend(r.value or b"" for records in batches.values() for r in records)
        return values
    finally:
        await consumer.stop()


async def redis_holds(redis_url: str, marker: str) -> bool:
    async with Redis.from_url(redis_url) as redis:
        async for key in redis.scan_iter(count=1000):
            if marker.encode() in key or marker.encode() in (await redis.dump(key) or b""):
                return True
    return False


async def test_do_not_store_text_is_kept_nowhere(
    perspective: ServiceProcess, api_key: str, kafka_settings: KafkaSettings, redis_url: str
) -> None:
    secret, suggested = unique("private-words"), unique("suggested-words")
    async with httpx.AsyncClient(base_url=perspective.url, params={"key": api_key}) as http:
        analyzed = await http.post(
            "/v1alpha1/comments:analyze",
            json={
                "comment": {"text": f"my {secret} text. Second sentence."},
                "requestedAttributes": {"TOXICITY": {}},
                "doNotStore": True,
                "spanAnnotations": True,
            },
        )
        assert analyzed.status_code == 200, analyzed.text
        suggestion = {
            "comment": {"text": f"a {suggested} text"},
            "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.9}}},
        }
        response = await http.post("/v1alpha1/comments:suggestscore", json=suggestion)
        assert response.status_code == 200, response.text
        metrics = (await http.get("/metrics")).text
    assert "perspective_do_not_store_total" in metrics
    feedback = await read_until(
        kafka_settings,
        Topic.FEEDBACK_SUGGESTED,
        lambda values: any(suggested.encode() in v for v in values),
    )
    event = next(
        FeedbackSuggested.model_validate_json(v) for v in feedback if suggested.encode() in v
    )
    assert event.scores == {"TOXICITY": 0.9}
    assert event.text == f"a {suggested} text"
    assert not any(secret.encode() in value for value in await every_value(kafka_settings))
    assert not await redis_holds(redis_url, secret)
    assert secret not in perspective.log.read_text(errors="replace")


async def analyze(url: str, key: str, text: str, **fields: object) -> httpx.Response:
    body = {"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}, **fields}
    async with httpx.AsyncClient(base_url=url, params={"key": key}) as http:
        return await http.post("/v1alpha1/comments:analyze", json=body)


async def test_do_not_store_false_feeds_the_pipeline_when_the_tenant_enables_it(
    perspective: ServiceProcess,
    system: System,
    kafka_settings: KafkaSettings,
    redis_url: str,
) -> None:
    tenant = unique("site")
    key = await _key(redis_url, tenant)
    async with Redis.from_url(redis_url) as redis:
        await TenantStore(redis).update_tenant(tenant, store_comments=True)
    token = unique("token")
    article = "The city council voted to restore the library budget for next year."
    response = await analyze(
        perspective.url,
        key,
        "Good to see the library funding restored.",
        doNotStore=False,
        clientToken=token,
        context={"entries": [{"text": article}]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["clientToken"] == token
    values = await read_until(
        kafka_settings,
        Topic.COMMENTS_MODERATED,
        lambda values: any(token.encode() in v for v in values),
    )
    verdict = next(CommentModerated.model_validate_json(v) for v in values if token.encode() in v)
    assert verdict.tenant_id == tenant
    assert verdict.comment_id == token
    assert verdict.comment.body == "Good to see the library funding restored."
    assert verdict.scores.relevance is not None  # context.entries became its article


async def test_analyzed_text_stays_out_unless_enabled_and_do_not_store_is_false(
    perspective: ServiceProcess, kafka_settings: KafkaSettings, redis_url: str
) -> None:
    disabled, enabled = unique("site"), unique("site")
    await _key(redis_url, enabled)  # creates the tenant
    async with Redis.from_url(redis_url) as redis:
        await TenantStore(redis).update_tenant(enabled, store_comments=True)
    markers = {
        "disabled": (disabled, unique("kept-out"), False),
        "do-not-store": (enabled, unique("kept-out"), True),
    }
    for tenant, marker, do_not_store in markers.values():
        key = await _key(redis_url, tenant)
        response = await analyze(
            perspective.url, key, f"text with {marker} in it", doNotStore=do_not_store
        )
        assert response.status_code == 200, response.text
    # A stored comment from the enabled tenant, sent last: once it is on Kafka, the two
    # before it would be too, had they been written.
    witness = unique("stored")
    key = await _key(redis_url, enabled)
    await analyze(perspective.url, key, f"text with {witness}", doNotStore=False)
    await read_until(
        kafka_settings,
        Topic.COMMENTS_SUBMITTED,
        lambda values: any(witness.encode() in v for v in values),
    )
    everything = await every_value(kafka_settings)
    for _, marker, _ in markers.values():
        assert not any(marker.encode() in value for value in everything)
        assert not await redis_holds(redis_url, marker)
        assert marker not in perspective.log.read_text(errors="replace")


async def test_the_service_moves_store_comments_into_the_tenant_record_at_start(
    kafka_settings: KafkaSettings, redis_url: str
) -> None:
    tenant = unique("site")
    await _key(redis_url, tenant)
    old = redis_keys.perspective_tenant(tenant)
    async with Redis.from_url(redis_url) as redis:
        await redis.hset(old, "store_comments", "1")  # where it was kept before
    service = ServiceProcess("perspective", service_env(kafka_settings, redis_url))
    try:
        await asyncio.to_thread(service.start)
        await asyncio.to_thread(service.wait_ready)
    finally:
        await asyncio.to_thread(service.stop)
    async with Redis.from_url(redis_url) as redis:
        found = await TenantStore(redis).tenant(tenant)
        assert not await redis.exists(old)
    assert found is not None
    assert found.store_comments


async def _key(redis_url: str, tenant: str) -> str:
    return mint_key(redis_url, tenant)
