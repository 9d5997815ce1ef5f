"""Signed deliveries to a real HTTP receiver: signatures, retries, dead letters, restarts."""

import asyncio
import hashlib
import hmac
import json
import time
from datetime import timedelta

import httpx
import pytest

from services.common.contract import FeedPublished
from services.common.settings import KafkaSettings
from services.modctl.cli import main as modctl
from services.webhooks.events import released_payload, verdict_payload
from tests.conftest import unique
from tests.webhooks.conftest import StartWebhooks
from tests.webhooks.helpers import (
    api_key,
    configure,
    deliveries,
    delivery_with,
    eventually,
    publish,
    verdict,
)
from tests.webhooks.receiver import Received, receiving

pytestmark = [pytest.mark.kafka]

ONE_HOUR = timedelta(hours=1)
SECRET_OLD = "old-secret-0123456789abcdef"
SECRET_NEW = "new-secret-fedcba9876543210"


def expected_signature(secret: str, request: Received) -> str:
    """Computed here from the documented scheme, independently of the service's code."""
    timestamp = request.headers["X-Moderation-Timestamp"]
    signed = timestamp.encode() + b"." + request.body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


async def test_deliveries_are_signed_with_every_secret_and_carry_the_event(
    start_webhooks: StartWebhooks, kafka_settings: KafkaSettings, redis_url: str, tenant: str
) -> None:
    service = start_webhooks()
    key = await api_key(redis_url, tenant)
    with receiving() as receiver:
        await configure(
            service.url, key, receiver.url, [SECRET_OLD, SECRET_NEW], ["verdict", "released"]
        )
        decision = verdict(tenant)
        release = FeedPublished(
            tenant_id=tenant, article_id=decision.article_id, comment_id=decision.comment_id
        )
        await publish(kafka_settings, decision, release)

        async def both() -> list[Received] | None:
            return receiver.requests if len(receiver.requests) >= 2 else None

        requests = await eventually(both, what="two deliveries")
    by_type = {r.headers["X-Moderation-Event"]: r for r in requests}
    assert set(by_type) == {"verdict", "released"}
    for request in requests:
        assert abs(time.time() - int(request.headers["X-Moderation-Timestamp"])) < 60
        signatures = request.headers["X-Moderation-Signature"].split(",")
        assert len(signatures) == 2
        # Either secret alone verifies the delivery (a receiver mid-rotation knows one of them).
        for secret in (SECRET_OLD, SECRET_NEW):
            assert f"sha256={expected_signature(secret, request)}" in signatures
        assert f"sha256={expected_signature('some-other-secret-xx', request)}" not in signatures
        payload = json.loads(request.body)
        assert payload["id"] == request.headers["X-Moderation-Event-Id"]
        assert payload["tenant_id"] == tenant
    sent = json.loads(by_type["verdict"].body)
    assert sent["id"] == verdict_payload(decision)[0]
    assert sent["data"]["comment_id"] == decision.comment_id
    assert sent["data"]["verdict"] == "approved"
    assert sent["data"]["body"] == decision.comment.body
    released = json.loads(by_type["released"].body)
    assert released["id"] == released_payload(release)[0]
    assert released["data"]["article_id"] == decision.article_id


async def test_a_receiver_failing_twice_then_recovering_gets_the_event_once(
    start_webhooks: StartWebhooks, kafka_settings: KafkaSettings, redis_url: str, tenant: str
) -> None:
    service = start_webhooks()
    key = await api_key(redis_url, tenant)
    with receiving(script=[500, "hang"]) as receiver:
        await configure(service.url, key, receiver.url, [SECRET_OLD])
        decision = verdict(tenant)
        await publish(kafka_settings, decision)
        event_id = verdict_payload(decision)[0]
        delivery = await delivery_with(service.url, key, event_id, "succeeded")
        # Redelivery of the same Kafka record schedules nothing new.
        await publish(kafka_settings, decision)
        await asyncio.sleep(1.5)
        succeeded = receiver.succeeded()
    assert len(succeeded) == 1
    assert succeeded[0].headers["X-Moderation-Event-Id"] == event_id
    attempts = delivery["attempts"]
    assert [a["number"] for a in attempts] == [1, 2, 3]
    assert [a["status_code"] for a in attempts] == [500, None, 200]
    assert [a["outcome"] for a in attempts] == ["retrying", "retrying", "succeeded"]
    assert attempts[0]["error"] == "HTTP 500"
    assert attempts[1]["error"] == "timeout"
    assert attempts[0]["next_retry_at"]
    assert attempts[1]["next_retry_at"]
    assert attempts[2]["next_retry_at"] is None
    assert attempts[1]["latency_ms"] >= 900  # waited for the 1 s timeout
    assert all(a["latency_ms"] > 0 for a in attempts)


async def test_an_endpoint_that_keeps_failing_is_dead_lettered_and_replayed(
    start_webhooks: StartWebhooks,
    kafka_settings: KafkaSettings,
    redis_url: str,
    tenant: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    service = start_webhooks()
    key = await api_key(redis_url, tenant)
    with receiving(default=503) as receiver:
        await configure(service.url, key, receiver.url, [SECRET_OLD])
        decision = verdict(tenant)
        await publish(kafka_settings, decision)
        event_id = verdict_payload(decision)[0]
        dead = await delivery_with(service.url, key, event_id, "dead")
        assert [a["outcome"] for a in dead["attempts"]] == ["retrying"] * 3 + ["dead"]

        async def dead_counted() -> str | None:
            value = await _metric(service.url, "webhook_dead_letters ")
            return value if value and float(value) >= 1 else None

        await eventually(dead_counted, what="the dead-letter gauge")

        monkeypatch.setenv("REDIS_URL", redis_url)
        assert await asyncio.to_thread(modctl, ["webhooks", "dead", "--tenant", tenant]) == 0
        listed = capsys.readouterr().out
        assert dead["id"] in listed
        assert "attempts=4  last: HTTP 503" in listed
        receiver.default = 200  # the endpoint is fixed
        assert await asyncio.to_thread(modctl, ["webhooks", "replay", "--tenant", tenant]) == 0
        assert "1 replayed" in capsys.readouterr().out
        done = await delivery_with(service.url, key, event_id, "succeeded")
    assert len(receiver.succeeded()) == 1
    assert len(done["attempts"]) == 5
    assert done["attempts"][-1]["status_code"] == 200


async def _metric(url: str, prefix: str) -> str | None:
    async with httpx.AsyncClient(base_url=url) as http:
        text = (await http.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(prefix):
            return line.split()[-1]
    return None


async def test_a_tenant_reads_only_its_own_delivery_log(
    start_webhooks: StartWebhooks, kafka_settings: KafkaSettings, redis_url: str, tenant: str
) -> None:
    service = start_webhooks()
    key = await api_key(redis_url, tenant)
    other_key = await api_key(redis_url, unique("other"))
    with receiving() as receiver:
        await configure(service.url, key, receiver.url, [SECRET_OLD])
        decision = verdict(tenant)
        # A verdict from before the endpoint was configured (same comment, so the same
        # partition, ahead of the new one): history is not delivered.
        earlier = decision.model_copy(update={"decided_at": decision.decided_at - ONE_HOUR})
        await publish(kafka_settings, earlier, decision)
        delivery = await delivery_with(service.url, key, verdict_payload(decision)[0], "succeeded")
    mine = await deliveries(service.url, key)
    assert [d["event_id"] for d in mine.json()["deliveries"]] == [delivery["event_id"]]
    assert len(receiver.requests) == 1
    others = await deliveries(service.url, other_key)
    assert others.status_code == 200
    assert others.json()["deliveries"] == []

    async with httpx.AsyncClient(base_url=service.url) as http:
        one = f"/v1/webhooks/deliveries/{delivery['id']}"
        assert (await http.get(one, headers={"X-Api-Key": other_key})).status_code == 404
        assert (await http.get(one, headers={"X-Api-Key": key})).status_code == 200
        assert (await http.get("/v1/webhooks/deliveries")).status_code == 401
        refused = await http.get("/v1/webhooks", headers={"X-Api-Key": "mk_not-a-key"})
        assert refused.status_code == 401
        shown = (await http.get("/v1/webhooks", headers={"X-Api-Key": key})).json()
    assert shown["endpoints"][0]["secrets"] == [f"...{SECRET_OLD[-4:]}"]


async def test_pending_retries_survive_a_restart_of_the_service(
    start_webhooks: StartWebhooks, kafka_settings: KafkaSettings, redis_url: str, tenant: str
) -> None:
    first = start_webhooks(schedule=[4.0, 0.3])
    key = await api_key(redis_url, tenant)
    with receiving(script=[500]) as receiver:
        await configure(first.url, key, receiver.url, [SECRET_OLD])
        decision = verdict(tenant)
        await publish(kafka_settings, decision)
        event_id = verdict_payload(decision)[0]

        async def failed_once() -> bool | None:
            return True if receiver.requests else None

        await eventually(failed_once, what="the first attempt")
        first.stop()  # the retry is due in 4 s, with no service running
        second = start_webhooks(schedule=[4.0, 0.3])
        done = await delivery_with(second.url, key, event_id, "succeeded")
    assert [a["status_code"] for a in done["attempts"]] == [500, 200]
    assert len(receiver.succeeded()) == 1


async def test_a_bad_configuration_is_refused_naming_the_field(
    start_webhooks: StartWebhooks, redis_url: str, tenant: str
) -> None:
    service = start_webhooks(WEBHOOKS_ALLOW_PRIVATE_URLS="false")
    key = await api_key(redis_url, tenant)
    good = {"url": "https://example.org/hook", "events": ["verdict"], "secrets": [SECRET_OLD]}
    cases = [
        ("endpoints.0.url", {**good, "url": "ftp://example.org/hook"}),
        ("endpoints.0.events.0", {**good, "events": ["deleted"]}),
        ("endpoints.0.secrets.0", {**good, "secrets": ["short"]}),
        # Into the service's own network: refused unless WEBHOOKS_ALLOW_PRIVATE_URLS is set.
        ("endpoints.0.url", {**good, "url": "http://127.0.0.1:6379/"}),
        ("endpoints.0.url", {**good, "url": "http://[::1]/hook"}),
        ("endpoints.0.url", {**good, "url": "http://169.254.169.254/latest/meta-data"}),
    ]
    async with httpx.AsyncClient(base_url=service.url, headers={"X-Api-Key": key}) as http:
        for field, endpoint in cases:
            response = await http.put("/v1/webhooks", json={"endpoints": [endpoint]})
            assert response.status_code == 422, response.text
            assert field in [e["field"] for e in response.json()["errors"]]
        twice = await http.put("/v1/webhooks", json={"endpoints": [good, good]})
        assert twice.status_code == 422
        assert (await http.get("/v1/webhooks")).json()["endpoints"] == []
