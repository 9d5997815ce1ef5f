"""Recovering by hand: the feed rebuilt from the log, dead letters listed and re-driven,
a graceful stop, and poison mixed into a good stream."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from redis import Redis

from services.common.contract import Topic
from services.modctl.testbed.processes import mint_key
from services.modctl.testbed.stream import Stream, count, feed_ids
from tests.conftest import make_comment, unique
from tests.faults.conftest import FaultBed
from tests.faults.test_crashes import assert_complete, new_stream, verdicts_so_far
from tests.processes import ROOT, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.faults]


def modctl(bed: FaultBed, *args: str) -> str:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bed.kafka.bootstrap,
        "KAFKA_NAMESPACE": bed.system.kafka.namespace,
        "REDIS_URL": bed.redis.url,
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.modctl.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def feed_snapshot(stream: Stream) -> list[tuple[str, str, float | None]]:
    url = f"{stream.system.publisher.url}/v1/articles/{stream.article_id}/comments"
    comments = httpx.get(url, params={"tenant": stream.tenant, "limit": 500}).json()["comments"]
    return [(c["comment_id"], c["released_at"], c["scores"]["relevance"]) for c in comments]


def test_feed_is_rebuilt_from_the_log_after_redis_lost_it(bed: FaultBed) -> None:
    stream = new_stream(bed, 300)
    stream.post(0, stream.total)
    assert_complete(count(stream), stream)
    before = feed_snapshot(stream)
    assert len(before) > 250
    Redis.from_url(bed.redis.url).flushall()
    # Tenants and keys live in Redis too: the operator restores them (here: the tenant again).
    mint_key(bed.redis.url, stream.tenant)
    assert feed_snapshot(stream) == []
    out = modctl(bed, "feed", "rebuild")
    assert "released=" in out
    assert feed_snapshot(stream) == before


async def _produce(
    bed: FaultBed, topic: Topic, records: list[tuple[bytes, bytes, dict[str, str]]]
) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bed.kafka.bootstrap, acks="all", max_request_size=6 * 1024 * 1024
    )
    await producer.start()
    try:
        for key, value, headers in records:
            await producer.send_and_wait(
                bed.system.kafka.topic(topic),
                value,
                key=key,
                headers=[(k, v.encode()) for k, v in headers.items()],
            )
    finally:
        await producer.stop()


def test_poison_in_a_good_stream_is_dead_lettered_and_listed(bed: FaultBed) -> None:
    stream = new_stream(bed, 400)
    stream.start()
    future = json.loads(make_comment(stream.tenant, "a", "from a newer producer").model_dump_json())
    future["schema_version"] = 7
    poison = {
        unique("p"): b"{{ not json",
        unique("p"): json.dumps({"tenant_id": stream.tenant, "comment_id": 5}).encode(),
        unique("p"): json.dumps(future).encode(),
        unique("p"): b'{"body": "' + b"x" * (5 * 1024 * 1024) + b'"}',
    }
    asyncio.run(
        _produce(bed, Topic.COMMENTS_SUBMITTED, [(k.encode(), v, {}) for k, v in poison.items()])
    )
    stream.join()
    assert_complete(count(stream), stream)
    listing = wait_for(
        lambda: out if all(k in (out := modctl(bed, "dlq", "list")) for k in poison) else None,
        what="the poison in `modctl dlq list`",
    )
    for key in poison:
        line = next(line for line in listing.splitlines() if key in line)
        assert bed.system.kafka.topic(Topic.COMMENTS_SUBMITTED) in line
    assert "5242" in listing  # the 5 MB record, kept whole


def test_a_dead_letter_is_replayed_once_after_the_cause_is_fixed(bed: FaultBed) -> None:
    """A comment dead-lettered earlier (say, by a bug since fixed) is re-driven to its topic."""
    tenant = unique("replay")
    comment = make_comment(tenant, unique("a"), "Replayed after the fix.")
    source = bed.system.kafka.topic(Topic.COMMENTS_SUBMITTED)
    headers = {
        "dlq.source.topic": source,
        "dlq.source.partition": "0",
        "dlq.source.offset": "0",
        "dlq.error": "processing failed: a bug",
    }
    asyncio.run(
        _produce(
            bed,
            Topic.COMMENTS_DLQ,
            [(comment.comment_id.encode(), comment.model_dump_json().encode(), headers)],
        )
    )
    first = modctl(bed, "dlq", "replay")
    assert comment.comment_id in first

    def released() -> dict[str, object] | None:
        r = httpx.get(
            f"{bed.system.publisher.url}/v1/comments/{comment.comment_id}",
            headers=bed.system.headers(tenant),
        )
        return dict(r.json()) if r.status_code == 200 else None

    assert wait_for(released, what="the replayed comment's verdict")["status"] == "released"
    assert comment.comment_id not in modctl(bed, "dlq", "replay")


def test_sigterm_stops_the_worker_gracefully_and_loses_nothing(bed: FaultBed) -> None:
    stream = new_stream(bed, 1000)
    start = verdicts_so_far(bed)
    stream.start()
    wait_for(lambda: True if verdicts_so_far(bed) >= start + 100 else None, what="a busy worker")
    process = bed.system.moderation.process
    assert process is not None
    began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status shows it.
    assert process.wait(timeout=45) in (0, -signal.SIGTERM)
    assert time.monotonic() - began < 35  # FastStream's graceful timeout is 30 s
    assert "Application shutdown complete" in bed.system.moderation.log.read_text()
    bed.system.moderation.start()
    bed.system.moderation.wait_ready()
    stream.join()
    assert_complete(count(stream), stream)
    assert len(feed_ids(bed.system, stream.tenant, stream.article_id)) > 0
